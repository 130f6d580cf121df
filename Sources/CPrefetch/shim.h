#ifndef SUNLEDGER_CPREFETCH_SHIM_H
#define SUNLEDGER_CPREFETCH_SHIM_H
/* The processor's prefetch instruction, which Swift does not expose: a hint
   that a cache line will soon be read. It changes no value and cannot fault. */
static inline void sunledger_prefetch(const void *address) { __builtin_prefetch(address); }
#endif
