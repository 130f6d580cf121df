#ifndef SUNLEDGER_CLMDB_SHIM_H
#define SUNLEDGER_CLMDB_SHIM_H
#include <lmdb.h>
#endif
