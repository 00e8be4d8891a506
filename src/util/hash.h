/* hash.h -- MurmurHash3's finalisers: every input bit reaches every output
 * bit, so a table can take any slice of the result. For mixing keys that
 * are already numbers (addresses, hashes); never for anything an attacker
 * may choose to collide on purpose without a secret seed in front.
 */
#ifndef NIGHTJAR_HASH_H
#define NIGHTJAR_HASH_H

#include <stdint.h>

static inline uint64_t fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static inline uint32_t fmix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    return x ^ (x >> 16);
}

#endif
