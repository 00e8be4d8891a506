/* config.c -- the settings table, --set parsing and the YAML reader.
 *
 * The YAML reader walks libyaml's event stream and keeps a stack of mapping
 * keys; every scalar value becomes config_set("a.b.c", value). A sequence of
 * scalars is a list setting written as YAML ("[443, 8443]", or one item a
 * line): its items are joined with commas, as --set takes them. Other
 * sequences are refused with their line number, as are unknown names, so a
 * typo in a config file is an error and never silently ignored.
 */
#include "config/config.h"

#include "output/sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

enum setting_type { T_U32, T_U64_SIZE, T_BOOL, T_STR, T_DOUBLE };

struct setting {
    const char *name;
    enum setting_type type;
    size_t offset;
    const char *deflt;
    const char *help;
};

#define OFF(field) offsetof(struct nj_config, field)

static const struct setting settings[] = {
    { "eve-log.filename", T_STR, OFF(eve_path), "nightjar-eve.json",
      "EVE JSON output file; \"-\" is standard output (same as -o); for "
      "unix_dgram and unix_stream, the socket's path" },
    { "eve-log.filetype", T_STR, OFF(eve_log.filetype), "regular",
      "where EVE records go: regular (a file), unix_dgram or unix_stream (the "
      "socket at eve-log.filename), syslog, redis, kafka" },
    { "eve-log.spool", T_U64_SIZE, OFF(eve_log.spool), "16mb",
      "records held in memory while a socket, syslog or Redis is slow or "
      "down; when full, new records are dropped and counted" },
    { "eve-log.identity", T_STR, OFF(eve_log.identity), "nightjar",
      "syslog: the program name in every message" },
    { "eve-log.facility", T_STR, OFF(eve_log.facility), "local0",
      "syslog facility: auth, authpriv, cron, daemon, ftp, kern, lpr, mail, "
      "news, syslog, user, uucp, local0..local7" },
    { "eve-log.level", T_STR, OFF(eve_log.level), "info",
      "syslog level: emergency, alert, critical, error, warning, notice, info, debug" },
    { "eve-log.redis.server", T_STR, OFF(eve_log.redis_server), "127.0.0.1",
      "Redis server: host name, address, or the path of its unix socket" },
    { "eve-log.redis.port", T_U32, OFF(eve_log.redis_port), "6379",
      "Redis server's TCP port" },
    { "eve-log.redis.mode", T_STR, OFF(eve_log.redis_mode), "list",
      "list or lpush (LPUSH), rpush (RPUSH), channel or publish (PUBLISH), "
      "stream or xadd (XADD)" },
    { "eve-log.redis.key", T_STR, OFF(eve_log.redis_key), "nightjar",
      "the Redis list, channel or stream" },
    { "eve-log.redis.stream-maxlen", T_U32, OFF(eve_log.redis_stream_maxlen),
      "100000", "stream mode: XADD MAXLEN ~ N keeps about the last N entries; "
      "0: no trimming" },
    { "eve-log.kafka.brokers", T_STR, OFF(eve_log.kafka_brokers),
      "127.0.0.1:9092", "Kafka bootstrap brokers, host:port[,host:port...]" },
    { "eve-log.kafka.topic", T_STR, OFF(eve_log.kafka_topic), "nightjar",
      "the Kafka topic; each message's key is the host the record is about" },
    { "eve-log.kafka.options", T_STR, OFF(eve_log.kafka_options), "",
      "more librdkafka producer properties, name=value[,name=value...], "
      "e.g. compression.codec=lz4" },
    { "eve-log.stats-interval", T_U32, OFF(stats_interval), "60",
      "seconds between stats events in live capture; 0: only at the end" },
    { "capture.bpf", T_STR, OFF(bpf), "",
      "BPF filter applied to every source (same as -f)" },
    { "capture.snaplen", T_U32, OFF(snaplen), "262144",
      "bytes captured per packet in live capture" },
    { "capture.workers", T_U32, OFF(workers), "0",
      "packet-processing threads (--workers); 0: one per core (one when "
      "anomaly.state-dir or response.contain is set). Packets are shared "
      "out by host (docs/architecture.md, Threads)" },
    { "capture.promiscuous", T_BOOL, OFF(promiscuous), "yes",
      "put the live interface in promiscuous mode" },
    { "capture.decrypted-feed", T_BOOL, OFF(decrypted_feed), "no",
      "the traffic is the decrypted side of a TLS-terminating proxy or "
      "interception box (or its decrypted mirror port): cleartext on 443 and "
      "other TLS ports is expected, no protocol mismatch; records say "
      "decrypted_feed" },
    { "capture.decrypted-feed-ports", T_STR, OFF(decrypted_feed_ports), "",
      "only the flows to these server ports are decrypted (e.g. 443,8443; a "
      "YAML list too); with capture.decrypted-feed: yes, every flow is" },
    { "capture.method", T_STR, OFF(capture_method), "afpacket",
      "live capture: afpacket (a TPACKET_V3 ring, Linux) or pcap (libpcap)" },
    { "capture.ring-size", T_U32, OFF(capture_ring_mb), "64",
      "MiB of the AF_PACKET ring the kernel fills (1 MiB blocks)" },
    { "flow.memcap", T_U64_SIZE, OFF(flow.memcap), "256mb",
      "memory for flow state; when full the oldest flow is evicted" },
    { "flow.splt-packets", T_U32, OFF(flow.splt_len), "32",
      "payload-carrying packets kept per flow in the SPLT feature" },
    { "flow.community-id-seed", T_U32, OFF(community_id_seed), "0",
      "Community ID seed (0..65535)" },
    { "flow.timeouts.tcp-new", T_U32, OFF(flow.timeout_tcp_new), "60",
      "seconds idle before a TCP flow not yet established ends" },
    { "flow.timeouts.tcp-established", T_U32,
      OFF(flow.timeout_tcp_established), "3600",
      "seconds idle before an established TCP flow ends" },
    { "flow.timeouts.tcp-closed", T_U32, OFF(flow.timeout_tcp_closed), "5",
      "seconds a TCP flow lingers after FIN/FIN or RST for late packets" },
    { "flow.timeouts.udp-new", T_U32, OFF(flow.timeout_udp_new), "30",
      "seconds idle before a one-way UDP flow ends" },
    { "flow.timeouts.udp-established", T_U32,
      OFF(flow.timeout_udp_established), "120",
      "seconds idle before a two-way UDP flow ends" },
    { "flow.timeouts.icmp", T_U32, OFF(flow.timeout_icmp), "60",
      "seconds idle before an ICMP flow ends" },
    { "flow.timeouts.other", T_U32, OFF(flow.timeout_other), "60",
      "seconds idle before a flow of another IP protocol ends" },
    { "stream.memcap", T_U64_SIZE, OFF(stream.memcap), "64mb",
      "memory for out-of-order TCP data, all flows together" },
    { "stream.max-queued", T_U64_SIZE, OFF(stream.max_queued), "1mb",
      "out-of-order bytes queued per flow direction before a gap is declared" },
    { "stream.depth", T_U64_SIZE, OFF(stream.depth), "0",
      "bytes reassembled per flow direction; 0: no limit" },
    { "tls.enabled", T_BOOL, OFF(tls_enabled), "yes",
      "parse TLS, DTLS and QUIC handshakes (fingerprints, certificates)" },
    { "tls.memcap", T_U64_SIZE, OFF(tls_memcap), "128mb",
      "memory for TLS sessions and handshake reassembly buffers" },
    { "decrypt.capture-secrets", T_BOOL, OFF(decrypt.capture_secrets), "yes",
      "use the TLS key log in a pcapng file's Decryption Secrets Blocks" },
    { "decrypt.memcap", T_U64_SIZE, OFF(decrypt.memcap), "64mb",
      "memory for sessions being decrypted and their record buffers" },
    { "decrypt.keylog-entries", T_U32, OFF(decrypt.keylog_entries), "65536",
      "TLS sessions whose key log secrets are kept (the rest are counted)" },
    { "app-layer.http.enabled", T_BOOL, OFF(http_enabled), "yes",
      "parse HTTP/1.x on any port: http events, bodies as files" },
    { "app-layer.http2.enabled", T_BOOL, OFF(http2_enabled), "yes",
      "parse HTTP/2 (h2c: prior knowledge and Upgrade) into http events, bodies as files" },
    { "app-layer.smtp.enabled", T_BOOL, OFF(smtp_enabled), "yes",
      "parse SMTP and the MIME messages it carries: smtp events, attachments" },
    { "app-layer.ftp.enabled", T_BOOL, OFF(ftp_enabled), "yes",
      "parse the FTP control channel: ftp events (logins, uploads, data ports)" },
    { "app-layer.dcerpc.enabled", T_BOOL, OFF(dcerpc_enabled), "yes",
      "read MS-RPC binds and requests (TCP and SMB2 pipes): remote service, task, WMI and DCOM creation, replication" },
    { "app-layer.dns.enabled", T_BOOL, OFF(dns_enabled), "yes",
      "parse DNS over UDP and TCP: dns events and the passive DNS cache" },
    { "app-layer.memcap", T_U64_SIZE, OFF(app_memcap), "256mb",
      "memory for HTTP/SMTP/FTP/DNS parser state, messages and scan windows" },
    { "files.max-size", T_U64_SIZE, OFF(file_max), "10mb",
      "bytes of a file kept for typing, YARA and the store (all are hashed)" },
    { "files.filestore", T_STR, OFF(content.filestore), "",
      "directory to store extracted files in by SHA-256 (same as --filestore)" },
    { "files.magic", T_BOOL, OFF(content.magic), "yes",
      "identify file types with libmagic" },
    { "files.magic-text", T_BOOL, OFF(content.magic_text), "no",
      "also run libmagic on files that look like text (HTML, scripts: ~0.5 ms each)" },
    { "files.hashes", T_STR, OFF(content.hashes), "auto",
      "digests of every file: auto (sha256, plus md5/sha1 while a loaded intel "
      "feed holds such hashes), or md5, sha1 and/or sha256 (MD5 is the slowest)" },
    { "http.decompress-max", T_U64_SIZE, OFF(http_decompress_max), "100mb",
      "decoded bytes of one gzip/deflate body before inflating stops" },
    { "http.decompress-ratio", T_U32, OFF(http_decompress_ratio), "1000",
      "decoded/encoded ratio past 1 MiB that marks a decompression bomb" },
    { "smtp.message-max", T_U64_SIZE, OFF(smtp_message_max), "20mb",
      "bytes of one mail message kept for MIME parsing" },
    { "yara.rules", T_STR, OFF(content.yara_path), "default",
      "YARA rule file or directory of *.yar files (same as --yara); default: the "
      "shipped rules (installed, or rules/ beside the build); none: no YARA" },
    { "yara.timeout", T_U32, OFF(content.scan_timeout_sec), "5",
      "seconds one YARA scan may take" },
    { "yara.stream-window", T_U64_SIZE, OFF(yara_stream_window), "64kb",
      "first bytes of each cleartext TCP direction scanned with YARA (of "
      "HTTP/1, what is around the bodies: those are scanned as files); 0: off" },
    { "dns.cache-entries", T_U32, OFF(dns_cache_entries), "65536",
      "addresses the passive DNS cache remembers (about 300 bytes each)" },
    { "dns.cache-grace", T_U32, OFF(dns_cache_grace), "600",
      "seconds an answer stays usable after its TTL" },
    { "intel.dir", T_STR, OFF(intel_dir), "",
      "directory whose every file is an indicator feed (same as --intel-dir)" },
    { "eta.enabled", T_BOOL, OFF(eta.enabled), "yes",
      "score finished flows with the encrypted-traffic model (docs/eta.md)" },
    { "eta.model", T_STR, OFF(eta.model), "",
      "model file from nightjar-train (same as --model); empty: the built-in model" },
    { "eta.threshold", T_DOUBLE, OFF(eta.threshold), "0",
      "score (0..1) from which a flow alerts; 0: the model's own threshold" },
    { "eta.min-packets", T_U32, OFF(eta.min_packets), "0",
      "payload packets a flow without a TLS/QUIC handshake needs to be scored; 0: the model's" },
    { "eta.pair-history", T_U32, OFF(eta.pairs), "16384",
      "client/server pairs whose last 16 connections feed the periodicity features (240 bytes each, plus 64 for first connections)" },
    { "eta.top-features", T_U32, OFF(eta.top_features), "5",
      "features named in an alert, largest contribution first" },
    { "eta.log-features", T_BOOL, OFF(eta.log_features), "no",
      "write each scored flow's features into its flow record (input for nightjar-train)" },
    { "anomaly.enabled", T_BOOL, OFF(anomaly.enabled), "yes",
      "host baselines, outliers, behaviour models and incidents (docs/anomaly.md)" },
    { "anomaly.home-nets", T_STR, OFF(anomaly.home_nets),
      "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7",
      "networks whose hosts get profiles; every other address is remote" },
    { "anomaly.trusted-proxies", T_STR, OFF(anomaly.trusted_proxies), "",
      "proxies (addresses, networks; IPv4 and IPv6) whose X-Forwarded-For or "
      "Forwarded header names the real client: findings, profiles and incidents "
      "of their HTTP transactions go to that client (docs/anomaly.md)" },
    { "anomaly.trusted-proxy-header", T_STR, OFF(anomaly.trusted_proxy_header),
      "auto", "the header trusted proxies write: x-forwarded-for, forwarded, or "
      "auto (either; when a request carries both they must agree)" },
    { "anomaly.learning-period", T_U32, OFF(anomaly.learning), "86400",
      "seconds of traffic a host (and the baseline) learns before outliers are reported" },
    { "anomaly.half-life-days", T_U32, OFF(anomaly.half_life_days), "7",
      "days after which an old observation weighs half in the per-hour baselines" },
    { "anomaly.hosts", T_U32, OFF(anomaly.hosts), "65536",
      "internal hosts profiled (about 700 bytes each); the least recently seen goes" },
    { "anomaly.pairs", T_U32, OFF(anomaly.pairs), "1048576",
      "client/server/port pairs remembered (32 bytes each)" },
    { "anomaly.state-dir", T_STR, OFF(anomaly.state_dir), "",
      "directory the baselines are saved to and loaded from (same as --state)" },
    { "anomaly.save-interval", T_U32, OFF(anomaly.save_interval), "300",
      "seconds between saves of the baselines in live capture" },
    { "anomaly.incident-timeout", T_U32, OFF(anomaly.incident_timeout), "3600",
      "seconds of traffic without a new finding before an incident closes" },
    { "anomaly.exfil-min-bytes", T_U64_SIZE, OFF(anomaly.exfil_min), "8mb",
      "smallest outlier upload that counts as exfiltration" },
    { "anomaly.scan-min-targets", T_U32, OFF(anomaly.scan_min_targets), "20",
      "distinct hosts (or ports) probed within 5 minutes that make a scan" },
    { "anomaly.beacon-min-conns", T_U32, OFF(anomaly.beacon_min_conns), "8",
      "connections to one server and port before beaconing is judged" },
    { "detect.c2", T_BOOL, OFF(detect.c2), "yes",
      "weigh per client/server pair the evidence of a command and control channel (docs/detection.md)" },
    { "detect.c2-pairs", T_U32, OFF(detect.c2_pairs), "16384",
      "client/server/port pairs the C2-channel detector remembers (about 230 bytes each)" },
    { "detect.c2-min-score", T_U32, OFF(detect.c2_min_score), "5",
      "evidence score from which a pair is a c2_channel alert" },
    { "detect.c2-strong-score", T_U32, OFF(detect.c2_strong_score), "7",
      "evidence score from which that alert alone calls the host compromised" },
    { "detect.delivery", T_BOOL, OFF(detect.delivery), "yes",
      "judge executables, scripts, macro documents and archives arriving over HTTP or mail" },
    { "detect.exfil", T_BOOL, OFF(detect.exfil), "yes",
      "mail, FTP uploads and logins from internal hosts to outside servers in the clear" },
    { "detect.icmp-tunnel", T_BOOL, OFF(detect.icmp_tunnel), "yes",
      "ICMP echo replies that do not echo their request: a tunnel" },
    { "detect.remote-exec", T_BOOL, OFF(detect.remote_exec), "yes",
      "remote execution between internal hosts (services, tasks, WMI, DCOM, WinRM, DCSync), joined with either end's alerts" },
    { "correlate.from", T_STR, OFF(correlate.from), "",
      "nightjar correlate: where the sensors' EVE is read: kafka (the topic "
      "eve-log.kafka.topic), redis (eve-log.redis.key), or a file (\"-\": "
      "standard input); same as --from" },
    { "correlate.group", T_STR, OFF(correlate.group), "nightjar-correlate",
      "nightjar correlate: the Kafka consumer group, and the Redis stream's "
      "consumer group; its committed offsets say what was handled" },
    { "correlate.idle-exit", T_U32, OFF(correlate.idle_exit), "0",
      "nightjar correlate from kafka or redis: exit after this many seconds "
      "with no new record (0: run until SIGINT or SIGTERM); same as --idle-exit" },
    { "response.contain", T_STR, OFF(response.contain), "none",
      "contain an internal host whose incident turns high: none, or nftables "
      "(its address into an nftables set with a timeout; docs/response.md)" },
    { "response.dry-run", T_BOOL, OFF(response.dry_run), "yes",
      "only log (EVE response events) what containment would do; no: do it" },
    { "response.timeout", T_U32, OFF(response.timeout), "3600",
      "seconds a contained host stays in the set; the kernel removes it then" },
    { "response.allowlist", T_STR, OFF(response.allowlist), "",
      "hosts and networks never contained (e.g. 10.0.0.1,10.0.5.0/24): "
      "gateways, DNS and domain servers, the sensor itself" },
    { "response.nftables.family", T_STR, OFF(response.nft_family), "inet",
      "nftables family of the table: inet (both sets), ip (IPv4 only) or ip6 (IPv6 only)" },
    { "response.nftables.table", T_STR, OFF(response.nft_table), "nightjar",
      "nftables table holding the sets; created when missing" },
    { "response.nftables.set4", T_STR, OFF(response.nft_set4), "contained4",
      "set of contained IPv4 hosts (type ipv4_addr, flags timeout); created when missing" },
    { "response.nftables.set6", T_STR, OFF(response.nft_set6), "contained6",
      "set of contained IPv6 hosts (type ipv6_addr, flags timeout); created when missing" },
    { "response.nftables.drop", T_BOOL, OFF(response.nft_drop), "yes",
      "keep chains contain-input, contain-forward and contain-output in the table that "
      "drop traffic from and to the sets' hosts; no: only fill the sets" },
    { "icap.listen", T_STR, OFF(icap.listen), "127.0.0.1:1344",
      "nightjar-icap: address and port it listens on (ADDRESS:PORT, [V6]:PORT)" },
    { "icap.service", T_STR, OFF(icap.service), "/scan",
      "nightjar-icap: the service's path (icap://HOST:PORT/scan)" },
    { "icap.fail-open", T_BOOL, OFF(icap.fail_open), "yes",
      "nightjar-icap: pass what cannot be judged (too big, timed out, a scan "
      "error); no: block it (fail closed). Logged either way" },
    { "icap.max-body", T_U64_SIZE, OFF(icap.max_body), "32mb",
      "nightjar-icap: body bytes kept and judged; a longer body is hashed whole "
      "but scanned on its first bytes, and counts as not judged" },
    { "icap.timeout", T_U32, OFF(icap.timeout), "30",
      "nightjar-icap: seconds a transaction may stall before it is answered "
      "by the fail mode and the connection closed" },
    { "icap.idle-timeout", T_U32, OFF(icap.idle_timeout), "300",
      "nightjar-icap: seconds an idle persistent connection is kept" },
    { "icap.max-connections", T_U32, OFF(icap.max_connections), "1024",
      "nightjar-icap: connections at once (told in OPTIONS); more are answered 503" },
    { "icap.workers", T_U32, OFF(icap.workers), "0",
      "nightjar-icap: threads that hash, type and YARA-scan bodies while the event "
      "loop goes on; 0: one per CPU" },
    { "icap.preview", T_U32, OFF(icap.preview), "4096",
      "nightjar-icap: Preview bytes asked for in OPTIONS" },
    { "icap.options-ttl", T_U32, OFF(icap.options_ttl), "3600",
      "nightjar-icap: seconds a proxy may keep the OPTIONS answer" },
    { "icap.block-page", T_STR, OFF(icap.block_page), "",
      "nightjar-icap: HTML file sent with 403 when blocking ({{url}}, {{reason}}, "
      "{{client}} are replaced); \"\": the built-in page" },
    { "icap.transfer-ignore", T_STR, OFF(icap.transfer_ignore),
      "mp4, m4v, webm, mkv, avi, mov, mp3, aac, flac, ogg, wav",
      "nightjar-icap: file extensions proxies need not send (OPTIONS Transfer-Ignore)" },
    { "icap.transfer-complete", T_STR, OFF(icap.transfer_complete),
      "exe, dll, scr, msi, js, jse, vbs, vbe, hta, ps1, bat, cmd, lnk, jar, iso, "
      "img, zip, rar, 7z, doc, docm, xls, xlsm, ppt, pptm, one",
      "nightjar-icap: file extensions sent whole, without a preview (OPTIONS Transfer-Complete)" },
    { "mta.listen", T_STR, OFF(mta.listen), "127.0.0.1:10025",
      "nightjar-mta: address and port it takes mail on (ADDRESS:PORT); --listen" },
    { "mta.relay", T_STR, OFF(mta.relay), "127.0.0.1:10026",
      "nightjar-mta: the next hop mail is delivered to (HOST:PORT); --relay" },
    { "mta.relay-connections", T_U32, OFF(mta.relay_connections), "4",
      "nightjar-mta: connections to the next hop at once, each kept for the next mail (1-64)" },
    { "mta.queue", T_STR, OFF(mta.queue), "/var/spool/nightjar-mta",
      "nightjar-mta: the queue directory (fsync'd before every 250); --queue" },
    { "mta.hostname", T_STR, OFF(mta.hostname), "",
      "nightjar-mta: its name in the greeting and in EHLO; \"\": the machine's" },
    { "mta.action", T_STR, OFF(mta.action), "reject",
      "nightjar-mta: what a malicious mail gets: reject (550 5.7.1 during DATA), "
      "quarantine (250, kept in QUEUE/quarantine), tag (delivered with X-Nightjar headers), "
      "strip (malicious attachments replaced by a note, listed URLs defanged, the rest delivered)" },
    { "mta.strip-fallback", T_STR, OFF(mta.strip_fallback), "reject",
      "nightjar-mta: what mta.action strip does when the cause cannot be taken out "
      "(the sender, a header, the text itself): reject, quarantine or tag" },
    { "mta.fail-open", T_BOOL, OFF(mta.fail_open), "yes",
      "nightjar-mta: deliver a mail that could not be judged (tagged unjudged); "
      "no: answer 451 so the sender tries again" },
    { "mta.max-size", T_U64_SIZE, OFF(mta.max_size), "50mb",
      "nightjar-mta: largest message (EHLO SIZE); larger ones get 552 5.3.4" },
    { "mta.max-recipients", T_U32, OFF(mta.max_recipients), "100",
      "nightjar-mta: recipients of one message; more get 452 4.5.3 (at most 100)" },
    { "mta.max-connections", T_U32, OFF(mta.max_connections), "256",
      "nightjar-mta: sessions at once; more are answered 421 4.3.2" },
    { "mta.timeout", T_U32, OFF(mta.timeout), "300",
      "nightjar-mta: seconds a session may be silent, then 421 4.4.2 and closed" },
    { "mta.retry-min", T_U32, OFF(mta.retry_min), "30",
      "nightjar-mta: seconds before the first retry of a deferred delivery; doubles" },
    { "mta.retry-max", T_U32, OFF(mta.retry_max), "3600",
      "nightjar-mta: longest wait between delivery attempts" },
    { "mta.hold-after", T_U32, OFF(mta.hold_after), "432000",
      "nightjar-mta: seconds a mail may stay undelivered, then it is moved to QUEUE/hold" },
    { "mta.bounce", T_BOOL, OFF(mta.bounce), "yes",
      "nightjar-mta: a mail that fails for good (a 5xx, or mta.hold-after) is held and a "
      "delivery status notification (RFC 3464) goes back to its sender" },
    { "mta.tls-cert", T_STR, OFF(mta.tls_cert), "",
      "nightjar-mta: PEM certificate (then its chain) for STARTTLS; with mta.tls-key, "
      "EHLO offers STARTTLS (TLS 1.2 and 1.3); --tls-cert" },
    { "mta.tls-key", T_STR, OFF(mta.tls_key), "",
      "nightjar-mta: PEM private key of mta.tls-cert; --tls-key" },
    { "mta.tls-require", T_BOOL, OFF(mta.tls_require), "no",
      "nightjar-mta: yes: no mail without STARTTLS first (530 5.7.0 to MAIL and the "
      "rest); needs mta.tls-cert and mta.tls-key" },
    { "mta.relay-tls", T_STR, OFF(mta.relay_tls), "may",
      "nightjar-mta: STARTTLS to the next hop: may (when it offers it; a failed "
      "handshake defers, never falls back to cleartext), encrypt (required: a next "
      "hop without it defers the mail), none" },
    { "mta.relay-tls-verify", T_BOOL, OFF(mta.relay_tls_verify), "no",
      "nightjar-mta: check the next hop's certificate (chain and the name or "
      "address of mta.relay); a failure defers the mail" },
    { "mta.relay-tls-ca", T_STR, OFF(mta.relay_tls_ca), "",
      "nightjar-mta: PEM file of the CAs mta.relay-tls-verify trusts; \"\": the system's" },
    { "defrag.trackers", T_U32, OFF(defrag.max_trackers), "256",
      "IP datagrams in reassembly at once (64 KiB each when used)" },
    { "defrag.timeout", T_U32, OFF(defrag.timeout_sec), "30",
      "seconds before an incomplete IP datagram is dropped" },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* config_set writes up to CONFIG_STR_MAX bytes into every T_STR field */
#define STR_FIELD_OK(f) \
    _Static_assert(sizeof(((struct nj_config *)0)->f) == CONFIG_STR_MAX, #f)
STR_FIELD_OK(eve_path);
STR_FIELD_OK(eve_log.filetype);
STR_FIELD_OK(eve_log.identity);
STR_FIELD_OK(eve_log.facility);
STR_FIELD_OK(eve_log.level);
STR_FIELD_OK(eve_log.redis_server);
STR_FIELD_OK(eve_log.redis_mode);
STR_FIELD_OK(eve_log.redis_key);
STR_FIELD_OK(eve_log.kafka_brokers);
STR_FIELD_OK(eve_log.kafka_topic);
STR_FIELD_OK(eve_log.kafka_options);
STR_FIELD_OK(bpf);
STR_FIELD_OK(content.yara_path);
STR_FIELD_OK(content.filestore);
STR_FIELD_OK(content.hashes);
STR_FIELD_OK(intel_dir);
STR_FIELD_OK(eta.model);
STR_FIELD_OK(anomaly.home_nets);
STR_FIELD_OK(anomaly.trusted_proxies);
STR_FIELD_OK(anomaly.trusted_proxy_header);
STR_FIELD_OK(decrypted_feed_ports);
STR_FIELD_OK(anomaly.state_dir);
STR_FIELD_OK(response.contain);
STR_FIELD_OK(icap.listen);
STR_FIELD_OK(mta.listen);
STR_FIELD_OK(mta.relay);
STR_FIELD_OK(mta.queue);
STR_FIELD_OK(mta.hostname);
STR_FIELD_OK(mta.action);
STR_FIELD_OK(mta.strip_fallback);
STR_FIELD_OK(mta.tls_cert);
STR_FIELD_OK(mta.tls_key);
STR_FIELD_OK(mta.relay_tls);
STR_FIELD_OK(mta.relay_tls_ca);
STR_FIELD_OK(icap.service);
STR_FIELD_OK(icap.block_page);
STR_FIELD_OK(icap.transfer_ignore);
STR_FIELD_OK(icap.transfer_complete);
STR_FIELD_OK(response.allowlist);
STR_FIELD_OK(response.nft_family);
STR_FIELD_OK(response.nft_table);
STR_FIELD_OK(response.nft_set4);
STR_FIELD_OK(response.nft_set6);

static const struct setting *setting_find(const char *name)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

static bool parse_u64(const char *v, uint64_t *out, bool size_suffix)
{
    if (!*v || *v == '-')
        return false;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v)
        return false;
    uint64_t mult = 1;
    if (*end && size_suffix) {
        if (!strcasecmp(end, "k") || !strcasecmp(end, "kb"))
            mult = 1024ull;
        else if (!strcasecmp(end, "m") || !strcasecmp(end, "mb"))
            mult = 1024ull * 1024;
        else if (!strcasecmp(end, "g") || !strcasecmp(end, "gb"))
            mult = 1024ull * 1024 * 1024;
        else if (strcasecmp(end, "b"))
            return false;
    } else if (*end) {
        return false;
    }
    if (n > UINT64_MAX / mult)
        return false;
    *out = n * mult;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1", NULL };
    static const char *const no[] = { "no", "false", "off", "0", NULL };
    for (int i = 0; yes[i]; i++)
        if (!strcasecmp(v, yes[i]))
            return *out = true, true;
    for (int i = 0; no[i]; i++)
        if (!strcasecmp(v, no[i]))
            return *out = false, true;
    return false;
}

bool config_set(struct nj_config *c, const char *name, const char *value,
                char *err, size_t errlen)
{
    const struct setting *s = setting_find(name);
    if (!s) {
        snprintf(err, errlen, "unknown setting '%s' (see --dump-config)", name);
        return false;
    }
    void *field = (char *)c + s->offset;
    uint64_t n;
    switch (s->type) {
    case T_U32:
        if (!parse_u64(value, &n, false) || n > UINT32_MAX) {
            snprintf(err, errlen, "%s: '%s' is not a number (0..%u)", name,
                     value, UINT32_MAX);
            return false;
        }
        *(uint32_t *)field = (uint32_t)n;
        return true;
    case T_U64_SIZE:
        if (!parse_u64(value, &n, true)) {
            snprintf(err, errlen,
                     "%s: '%s' is not a size (e.g. 65536, 512kb, 64mb, 1gb)",
                     name, value);
            return false;
        }
        *(uint64_t *)field = n;
        return true;
    case T_BOOL:
        if (!parse_bool(value, (bool *)field)) {
            snprintf(err, errlen, "%s: '%s' is not yes or no", name, value);
            return false;
        }
        return true;
    case T_STR:
        if (strlen(value) >= CONFIG_STR_MAX) {
            snprintf(err, errlen, "%s: value longer than %d bytes", name,
                     CONFIG_STR_MAX - 1);
            return false;
        }
        snprintf((char *)field, CONFIG_STR_MAX, "%s", value);
        return true;
    case T_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        if (errno || end == value || *end || !(d >= 0 && d <= 1e12)) {
            snprintf(err, errlen, "%s: '%s' is not a non-negative number",
                     name, value);
            return false;
        }
        *(double *)field = d;
        return true;
    }
    }
    return false;
}

void config_defaults(struct nj_config *c)
{
    memset(c, 0, sizeof(*c));
    char err[256];
    for (size_t i = 0; i < NSETTINGS; i++)
        (void)config_set(c, settings[i].name, settings[i].deflt, err,
                         sizeof(err));
}

bool config_set_assignment(struct nj_config *c, const char *a, char *err,
                           size_t errlen)
{
    const char *eq = strchr(a, '=');
    if (!eq || eq == a) {
        snprintf(err, errlen, "--set expects name=value, got '%s'", a);
        return false;
    }
    char name[256];
    size_t n = (size_t)(eq - a);
    if (n >= sizeof(name)) {
        snprintf(err, errlen, "setting name too long");
        return false;
    }
    memcpy(name, a, n);
    name[n] = 0;
    return config_set(c, name, eq + 1, err, errlen);
}

/* An nftables name nightjar puts into commands: letters, digits, '_',
 * '-' and '.', starting with a letter, so a setting cannot smuggle in
 * another command. */
static bool nft_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_-.") == n;
}

static bool response_valid(const struct response_settings *r, char *err,
                           size_t errlen)
{
    if (strcmp(r->contain, "none") && strcmp(r->contain, "nftables")) {
        snprintf(err, errlen, "response.contain: '%s' is not none or nftables",
                 r->contain);
        return false;
    }
    if (strcmp(r->nft_family, "inet") && strcmp(r->nft_family, "ip") &&
        strcmp(r->nft_family, "ip6")) {
        snprintf(err, errlen, "response.nftables.family: '%s' is not inet, ip "
                 "or ip6", r->nft_family);
        return false;
    }
    const struct { const char *name, *v; } names[] = {
        { "response.nftables.table", r->nft_table },
        { "response.nftables.set4", r->nft_set4 },
        { "response.nftables.set6", r->nft_set6 },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!nft_name_ok(names[i].v)) {
            snprintf(err, errlen, "%s: '%s' is not an nftables name (a letter, "
                     "then letters, digits, '_', '-' or '.'; at most 64)",
                     names[i].name, names[i].v);
            return false;
        }
    if (!strcmp(r->nft_set4, r->nft_set6)) {
        snprintf(err, errlen, "response.nftables.set4 and set6 must differ");
        return false;
    }
    if (r->timeout == 0 || r->timeout > 604800) {
        snprintf(err, errlen, "response.timeout must be 1..604800 seconds (a "
                 "week): a containment always ends by itself");
        return false;
    }
    return true;
}

bool config_validate(const struct nj_config *c, char *err, size_t errlen)
{
    if (strcmp(c->capture_method, "afpacket") && strcmp(c->capture_method, "pcap")) {
        snprintf(err, errlen, "capture.method must be afpacket or pcap, not '%s'",
                 c->capture_method);
        return false;
    }
    if (c->capture_ring_mb < 1 || c->capture_ring_mb > 4096) {
        snprintf(err, errlen, "capture.ring-size must be 1 to 4096 (MiB)");
        return false;
    }
    if (c->file_max > (1ull << 30) || c->smtp_message_max > (1ull << 30)) {
        snprintf(err, errlen, "files.max-size and smtp.message-max must be "
                 "at most 1gb");
        return false;
    }
    if (c->dns_cache_entries < 4) {
        snprintf(err, errlen, "dns.cache-entries must be at least 4");
        return false;
    }
    if (strcmp(c->mta.action, "reject") && strcmp(c->mta.action, "quarantine") &&
        strcmp(c->mta.action, "tag") && strcmp(c->mta.action, "strip")) {
        snprintf(err, errlen, "mta.action: '%s' is not reject, quarantine, tag or strip",
                 c->mta.action);
        return false;
    }
    if (strcmp(c->mta.strip_fallback, "reject") &&
        strcmp(c->mta.strip_fallback, "quarantine") && strcmp(c->mta.strip_fallback, "tag")) {
        snprintf(err, errlen, "mta.strip-fallback: '%s' is not reject, quarantine or tag",
                 c->mta.strip_fallback);
        return false;
    }
    if (!c->mta.tls_cert[0] != !c->mta.tls_key[0]) {
        snprintf(err, errlen, "mta.tls-cert and mta.tls-key go together (STARTTLS "
                 "needs both)");
        return false;
    }
    if (c->mta.tls_require && !c->mta.tls_cert[0]) {
        snprintf(err, errlen, "mta.tls-require needs mta.tls-cert and mta.tls-key");
        return false;
    }
    if (strcmp(c->mta.relay_tls, "may") && strcmp(c->mta.relay_tls, "encrypt") &&
        strcmp(c->mta.relay_tls, "none")) {
        snprintf(err, errlen, "mta.relay-tls: '%s' is not may, encrypt or none",
                 c->mta.relay_tls);
        return false;
    }
    if (c->mta.relay_tls_verify && !strcmp(c->mta.relay_tls, "none")) {
        snprintf(err, errlen, "mta.relay-tls-verify needs mta.relay-tls may or "
                 "encrypt (it is none)");
        return false;
    }
    if (c->mta.max_recipients < 1 || c->mta.max_recipients > 100) {
        snprintf(err, errlen, "mta.max-recipients must be 1..100");
        return false;
    }
    if (c->mta.relay_connections < 1 || c->mta.relay_connections > 64) {
        snprintf(err, errlen, "mta.relay-connections must be 1..64");
        return false;
    }
    if (c->community_id_seed > 65535) {
        snprintf(err, errlen, "flow.community-id-seed must be 0..65535");
        return false;
    }
    if (c->flow.splt_len > 1024) {
        snprintf(err, errlen, "flow.splt-packets must be at most 1024");
        return false;
    }
    if (c->flow.memcap < flow_size(&c->flow)) {
        snprintf(err, errlen, "flow.memcap is smaller than one flow (%zu bytes)",
                 flow_size(&c->flow));
        return false;
    }
    if (c->defrag.max_trackers == 0 || c->defrag.max_trackers > 65536) {
        snprintf(err, errlen, "defrag.trackers must be 1..65536");
        return false;
    }
    if (c->eta.threshold >= 1) {
        snprintf(err, errlen, "eta.threshold must be below 1 (0: the model's)");
        return false;
    }
    if (c->workers > 64) {
        snprintf(err, errlen, "capture.workers must be at most 64");
        return false;
    }
    if (c->workers > 1 && (c->anomaly.state_dir[0] ||
                           strcmp(c->response.contain, "none"))) {
        snprintf(err, errlen, "capture.workers above 1 cannot be used "
                 "with anomaly.state-dir or response.contain yet: those "
                 "keep one state for every host");
        return false;
    }
    if (c->snaplen < 64) {
        snprintf(err, errlen, "capture.snaplen must be at least 64");
        return false;
    }
    struct sink_config sc; /* the eve-log.* names and their combinations */
    if (!sink_config_from(&sc, c, err, errlen))
        return false;
    return response_valid(&c->response, err, errlen);
}

void config_dump(const struct nj_config *c, FILE *out)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        const void *field = (const char *)c + s->offset;
        fprintf(out, "# %s (default: %s)\n%s: ", s->help,
                *s->deflt ? s->deflt : "\"\"", s->name);
        switch (s->type) {
        case T_U32: fprintf(out, "%u\n", *(const uint32_t *)field); break;
        case T_U64_SIZE:
            fprintf(out, "%llu\n",
                    (unsigned long long)*(const uint64_t *)field);
            break;
        case T_BOOL:
            fprintf(out, "%s\n", *(const bool *)field ? "yes" : "no");
            break;
        case T_STR: fprintf(out, "\"%s\"\n", (const char *)field); break;
        case T_DOUBLE: fprintf(out, "%g\n", *(const double *)field); break;
        }
    }
}

/* ---- YAML --------------------------------------------------------------- */

#define YAML_MAX_DEPTH 8

struct yaml_walk {
    char keys[YAML_MAX_DEPTH][128];
    int depth;            /* mappings open */
    bool want_key[YAML_MAX_DEPTH];
    bool in_seq;          /* inside a list of scalars: items joined in seq */
    char seq[CONFIG_STR_MAX];
    size_t seq_len;
};

static bool seq_start(struct yaml_walk *w, const char *path, unsigned line,
                      char *err, size_t errlen)
{
    if (w->in_seq || w->depth == 0 || w->want_key[w->depth - 1]) {
        snprintf(err, errlen, "%s:%u: a list is a setting's value only", path, line);
        return false;
    }
    w->in_seq = true;
    w->seq[0] = 0;
    w->seq_len = 0;
    return true;
}

static bool seq_item(struct yaml_walk *w, const char *v, const char *path,
                     unsigned line, char *err, size_t errlen)
{
    size_t n = strlen(v), sep = w->seq_len ? 1 : 0;
    if (w->seq_len + sep + n >= sizeof(w->seq)) {
        snprintf(err, errlen, "%s:%u: list longer than %d bytes", path, line,
                 CONFIG_STR_MAX - 1);
        return false;
    }
    memcpy(w->seq + w->seq_len, ",", sep);
    memcpy(w->seq + w->seq_len + sep, v, n + 1);
    w->seq_len += sep + n;
    return true;
}

static void dotted(const struct yaml_walk *w, const char *last, char *out,
                   size_t len)
{
    out[0] = 0;
    size_t used = 0;
    for (int i = 0; i < w->depth - 1; i++)
        used += (size_t)snprintf(out + used, len > used ? len - used : 0,
                                 "%s.", w->keys[i]);
    snprintf(out + used, len > used ? len - used : 0, "%s", last);
}

static bool yaml_event_step(struct nj_config *c, struct yaml_walk *w,
                            const yaml_event_t *ev, const char *path,
                            char *err, size_t errlen)
{
    unsigned line = (unsigned)ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_MAPPING_START_EVENT:
        if (w->in_seq) {
            snprintf(err, errlen, "%s:%u: lists of mappings are not settings",
                     path, line);
            return false;
        }
        if (w->depth >= YAML_MAX_DEPTH) {
            snprintf(err, errlen, "%s:%u: nested too deep", path, line);
            return false;
        }
        w->depth++;
        w->want_key[w->depth - 1] = true;
        return true;
    case YAML_MAPPING_END_EVENT:
        w->depth--;
        if (w->depth > 0)
            w->want_key[w->depth - 1] = true;
        return true;
    case YAML_SEQUENCE_START_EVENT:
        return seq_start(w, path, line, err, errlen);
    case YAML_SEQUENCE_END_EVENT: {
        char name[512], msg[384];
        int k = w->depth - 1;
        dotted(w, w->keys[k], name, sizeof(name));
        w->in_seq = false;
        w->want_key[k] = true;
        if (!config_set(c, name, w->seq, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%u: %s", path, line, msg);
            return false;
        }
        return true;
    }
    case YAML_ALIAS_EVENT:
        snprintf(err, errlen, "%s:%u: aliases are not supported", path, line);
        return false;
    case YAML_SCALAR_EVENT: {
        const char *v = (const char *)ev->data.scalar.value;
        if (w->in_seq)
            return seq_item(w, v, path, line, err, errlen);
        if (w->depth == 0) {
            snprintf(err, errlen, "%s:%u: expected a mapping of settings",
                     path, line);
            return false;
        }
        int k = w->depth - 1;
        if (w->want_key[k]) {
            snprintf(w->keys[k], sizeof(w->keys[k]), "%s", v);
            w->want_key[k] = false;
            return true;
        }
        char name[512], msg[384];
        dotted(w, w->keys[k], name, sizeof(name));
        w->want_key[k] = true;
        if (!config_set(c, name, v, msg, sizeof(msg))) {
            snprintf(err, errlen, "%s:%u: %s", path, line, msg);
            return false;
        }
        return true;
    }
    default:
        return true;
    }
}

bool config_load_yaml(struct nj_config *c, const char *path, char *err,
                      size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open config %s: %s", path,
                 strerror(errno));
        return false;
    }
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, fp);
    struct yaml_walk w;
    memset(&w, 0, sizeof(w));
    bool ok = true, done = false;
    while (ok && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errlen, "%s:%u: %s", path,
                     (unsigned)parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "YAML error");
            ok = false;
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        ok = yaml_event_step(c, &w, &ev, path, err, errlen);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    fclose(fp);
    return ok;
}
