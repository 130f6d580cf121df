#ifndef SUNLEDGER_CLIBCRYPTO_SHIM_H
#define SUNLEDGER_CLIBCRYPTO_SHIM_H
/* SHA-256, AES-256-GCM and the random generator of the system's OpenSSL
   libcrypto (Debian's libssl-dev). SHA-256's one-shot context is a plain
   struct, which the ledger copies to resume a hash from a prepared prefix;
   OpenSSL 3 marks these functions deprecated in favour of EVP, whose contexts
   are heap objects, so the mark is switched off here. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#endif
