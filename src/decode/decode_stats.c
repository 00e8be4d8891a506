/* decode_stats.c -- the names of the decoder's error counters, for output. */
#include "decode/decode_stats.h"

const char *const decode_error_names[DECODE_ERR_COUNT] = {
#define X(n) #n,
    DECODE_ERRORS(X)
#undef X
};
