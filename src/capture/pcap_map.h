/* pcap_map.h -- a classic pcap file mapped into memory, its records walked
 * in place: capture.c's files without a BPF filter (every worker that
 * reads one file together, or the one pipeline) and the plan's pass over
 * its headers (sensor/workers.c), at the cost of a pointer step a record
 * rather than two copies of every byte (into stdio's buffer, then
 * libpcap's) -- copies each worker would make of the whole file.
 *
 * Reads the classic format only (either byte order, micro- or nanosecond
 * timestamps) as libpcap reads it: nanoseconds cut to microseconds, a
 * record longer than the file's snap length cut to it; pcapng, a pipe or
 * a file that cannot be mapped gives NULL and the caller reads it with
 * libpcap. A record that claims more bytes than remain, or more than
 * 256 KiB, ends the walk as damaged (pcap_map_damage says why). No BPF
 * filter: with one, read with libpcap. Never writes to the file.
 *
 * Handles opened on one file at the same time share one mapping (each
 * walks it with its own cursor), but for a part, which maps its own; any
 * thread may walk its own handle.
 */
#ifndef NIGHTJAR_PCAP_MAP_H
#define NIGHTJAR_PCAP_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "decode/decode.h"

struct pcap_map;

struct pcap_map *pcap_map_open(const char *path);
/* The next record into p (frame, lengths, time, link type); false at the
 * end or where the file is damaged. */
bool pcap_map_next(struct pcap_map *m, struct packet *p);
/* Walkers will follow this one over the same file (handles opened on it
 * while this one is open): the first bytes it walks stay mapped until
 * that many more handles have begun to walk (asked for a record: a handle
 * opened and not walked holds no page back and is no follower), rather
 * than be let go behind it and mapped again by each of them. */
void pcap_map_keep(struct pcap_map *m, size_t bytes, unsigned followers);
/* After the walk: NULL when it reached the end, else why it stopped. */
const char *pcap_map_damage(const struct pcap_map *m);
/* The file offset of the record the next call would read (after the
 * walk: where it ended), and the file's size. */
size_t pcap_map_offset(const struct pcap_map *m);
size_t pcap_map_file_size(const struct pcap_map *m);
/* The walk ends, undamaged, at the first record at or past offset. */
void pcap_map_stop_at(struct pcap_map *m, size_t offset);
/* A handle of its own on the part of a file from offset from: at the first
 * place past it, within 16 MiB, where records seem to start (headers that
 * chain); NULL when there is none, or the file is not a classic pcap.
 * Only a guess: the walk of the part before, stopped there
 * (pcap_map_stop_at), proves it by ending there exactly. */
struct pcap_map *pcap_map_open_part(const char *path, size_t from);
void pcap_map_close(struct pcap_map *m);

#endif
