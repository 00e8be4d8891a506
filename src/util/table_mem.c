/* table_mem.c -- see table_mem.h for why the tables are shared anonymous
 * mappings. Owns nothing but the mapping calls.
 */
#include "util/table_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define TABLE_MEM_CALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TABLE_MEM_CALLOC 1
#endif
#endif

void *table_mem_alloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
#ifdef TABLE_MEM_CALLOC
    return calloc(n ? n : 1, size ? size : 1);
#else
    size_t bytes = n * size;
    if (!bytes)
        bytes = 1;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
#endif
}

void table_mem_free(void *p, size_t n, size_t size)
{
    if (!p)
        return;
#ifdef TABLE_MEM_CALLOC
    (void)n;
    (void)size;
    free(p);
#else
    size_t bytes = n * size;
    munmap(p, bytes ? bytes : 1);
#endif
}
