/* correlate_main.h -- `nightjar correlate`: the centre of several sensors
 * (docs/deployment.md). Reads the EVE records every sensor ships to Kafka,
 * Redis or a file, turns each alert and anomaly back into a finding
 * (eve_findings.h), joins them per host into incidents (incidents.h), and
 * writes the central incident events and host-compromised alerts through
 * the ordinary EVE output. Owns the command line of the subcommand, its
 * loop and its summary; never reads packets, never decides what a finding
 * is, and never acknowledges a record before its output is written.
 */
#ifndef NIGHTJAR_CORRELATE_MAIN_H
#define NIGHTJAR_CORRELATE_MAIN_H

/* argv[0] is "correlate". Exit status: 0 when it ran, 1 when reading
 * failed part-way, 2 for a usage or configuration error or a source that
 * cannot be opened or reached. */
int correlate_main(int argc, char **argv);

#endif
