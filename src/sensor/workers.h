/* workers.h -- the sensor's packet threads (--workers N, capture.workers).
 *
 * N workers, each with a whole pipeline of its own (decode, defrag, flows,
 * reassembly, parsers, decryption, detectors, its EVE buffer), and the
 * caller's thread (capture, signals). A regular file is read by every
 * worker itself (workers_read_file), each keeping the packets of its own
 * hosts; otherwise the caller is the reader: it shards packets by host
 * (workers.c says how and why) into one bounded single-producer/single-
 * consumer ring per worker. Either way every worker is told how far packet
 * time has gone, so N workers give the records one would. With N = 1 there
 * is no thread: every call goes straight to the one pipeline, as before
 * workers existed.
 *
 * The calls mirror pipeline.h's and are made from the reader only.
 */
#ifndef NIGHTJAR_WORKERS_H
#define NIGHTJAR_WORKERS_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/capture.h"
#include "config/config.h"
#include "output/eve.h"

struct workers;

/* n: cfg->workers resolved (0 means one per online core). live: a full
 * ring drops the packet (counted) instead of waiting for room. With one
 * worker its pipeline is made here (NULL and why when it cannot be);
 * with more, each worker's thread makes its own: workers_start next. */
struct workers *workers_new(const struct nj_config *cfg, struct eve *eve,
                            bool live, char *err, size_t errlen);
/* The second half of the set-up, before any packet: each worker makes its
 * pipeline in its own thread, while this one makes the placement plan of
 * first_file (NULL: none; it is used when workers_read_file reads that
 * file first). False, with why, when a pipeline could not be made. */
bool workers_start(struct workers *ws, const char *first_file, const char *bpf,
                   const volatile sig_atomic_t *stop, char *err, size_t errlen);
void workers_free(struct workers *ws);
unsigned workers_count(const struct workers *ws);

void workers_packet(struct workers *ws, struct packet *p);
/* A regular file, with more than one worker and no live capture: every
 * worker reads the whole file itself and keeps its own shard of it (no
 * copy through a ring, no reader thread in between). Returns false when
 * that cannot be (one worker, stdin, a pipe): the caller then feeds every
 * packet to workers_packet. Else, when the file has been read: *packets
 * read from it, *damaged NULL or why the file ended early. stop: read
 * between packets; reload: a SIGHUP (the feeds are read again at once,
 * the EVE file opened again when the file ends). */
/* (It adds the file's capture secrets itself: workers_add_capture_secrets
 * is for the caller's own reading.) */
bool workers_read_file(struct workers *ws, const char *path, const char *bpf,
                       const volatile sig_atomic_t *stop,
                       volatile sig_atomic_t *reload, uint64_t *packets,
                       const char **damaged);
void workers_tick(struct workers *ws, uint64_t now_usec);
void workers_reload(struct workers *ws);       /* SIGHUP: feeds, EVE file */
void workers_capture_stats(struct workers *ws, const struct capture_stats *cs);
void workers_note_truncated_file(struct workers *ws);
int workers_add_capture_secrets(struct workers *ws, const char *path);
void workers_write_stats(struct workers *ws, uint64_t ts_usec);
/* Ends every flow on every worker and writes the one merged stats record;
 * the threads wait (their pipelines read by workers_summary) until
 * workers_free, where each frees its own pipeline, all at once. */
void workers_finish(struct workers *ws);
void workers_summary(const struct workers *ws, FILE *out, const char *eve_path);
uint64_t workers_packets(const struct workers *ws);

#endif
