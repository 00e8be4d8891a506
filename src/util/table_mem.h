/* table_mem.h -- memory for the big hash tables that are sized for their
 * cap at start and then touched sparsely, one slot at a time, for the
 * sensor's whole life (flow buckets, hosts and pairs, the ETA history, the
 * DNS cache, the detectors' slot tables, the files' type and clean-scan
 * caches, the plan's tables while a pass runs).
 *
 * Why not calloc: calloc of a large block is a private anonymous mapping.
 * A slot read before it is ever written maps the kernel's shared zero
 * page; the first write to that page then copies it (a copy-on-write
 * fault) and must flush the old read-only translation from every CPU the
 * process runs on -- an inter-processor interrupt to the other workers and
 * the reader, once per page of every table. With two workers that was a
 * fifth of all CPU time. A shared anonymous mapping has no zero page: the
 * first touch, read or write, gets the page for good, and no other CPU is
 * interrupted. The price: a page that is only ever read becomes resident
 * (a lookup that misses and never inserts), which the caps already bound.
 *
 * Under AddressSanitizer it is plain calloc, so the tables keep their
 * overflow checks. Never for anything freed and reallocated per packet.
 */
#ifndef NIGHTJAR_TABLE_MEM_H
#define NIGHTJAR_TABLE_MEM_H

#include <stddef.h>

/* n zeroed elements of size bytes; NULL when n * size overflows or there
 * is no memory */
void *table_mem_alloc(size_t n, size_t size);

/* frees what table_mem_alloc(n, size) returned (NULL is allowed) */
void table_mem_free(void *p, size_t n, size_t size);

#endif
