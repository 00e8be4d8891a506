/* config.h -- every setting of the sensor, its default, and how it is read.
 *
 * Settings have dotted names ("flow.timeouts.tcp-new") that are the same in
 * the YAML file (-c), on the command line (--set name=value) and in the
 * docs. One table in config.c lists them all with their type, default and
 * help, so `nightjar --dump-config` and the man page cannot disagree with
 * the code. Sizes accept k/kb/m/mb/g/gb suffixes (powers of 1024). This
 * module reads settings; it never acts on them.
 */
#ifndef NIGHTJAR_CONFIG_H
#define NIGHTJAR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decode/defrag.h"
#include "flow/flow_table.h"
#include "flow/tcp_stream.h"
#include "content/content.h"

#define CONFIG_STR_MAX 1024

struct nj_config {
    struct flow_config flow;
    struct stream_config stream;
    struct defrag_config defrag;
    uint64_t tls_memcap;            /* TLS sessions and handshake buffers */
    bool tls_enabled;               /* parse TLS, DTLS and QUIC handshakes */
    uint32_t community_id_seed;
    uint32_t stats_interval;        /* seconds between live stats; 0 = end */
    uint32_t snaplen;
    uint32_t workers;               /* packet threads; 0: one per core */
    bool worker_quiet;              /* not a setting: a worker but the first,
                                     * which reports nothing on stderr that
                                     * the first reports (sensor/workers.c) */
    bool promiscuous;
    char capture_method[16];        /* "afpacket" or "pcap" (live capture) */
    uint32_t capture_ring_mb;       /* AF_PACKET ring size */
    bool decrypted_feed;            /* every flow from a decrypted feed */
    char decrypted_feed_ports[CONFIG_STR_MAX]; /* or the flows to these ports */
    char eve_path[CONFIG_STR_MAX];  /* "-" for stdout; unix socket path */
    struct eve_log_settings {       /* where records go (output/sink.h) */
        char filetype[CONFIG_STR_MAX];   /* regular, unix_dgram, ... */
        uint64_t spool;             /* bytes waiting for a socket or Redis */
        char identity[CONFIG_STR_MAX];   /* syslog */
        char facility[CONFIG_STR_MAX];
        char level[CONFIG_STR_MAX];
        char redis_server[CONFIG_STR_MAX];
        uint32_t redis_port;
        char redis_mode[CONFIG_STR_MAX];
        char redis_key[CONFIG_STR_MAX];
        uint32_t redis_stream_maxlen;
        char kafka_brokers[CONFIG_STR_MAX];
        char kafka_topic[CONFIG_STR_MAX];
        char kafka_options[CONFIG_STR_MAX];
    } eve_log;
    struct content_config content;  /* YARA rules, file store, magic */
    bool http_enabled, http2_enabled, smtp_enabled, ftp_enabled, dns_enabled, dcerpc_enabled;
    uint64_t app_memcap;            /* HTTP/SMTP/FTP/DNS state and windows */
    uint64_t file_max;              /* bytes of a file kept and scanned */
    uint64_t http_decompress_max;
    uint32_t http_decompress_ratio;
    uint64_t smtp_message_max;
    uint64_t yara_stream_window;    /* cleartext bytes scanned per direction */
    uint32_t dns_cache_entries;
    uint32_t dns_cache_grace;
    char intel_dir[CONFIG_STR_MAX]; /* every file in it is a feed */
    const char *intel_feeds[64];    /* --intel arguments (not in YAML) */
    int n_intel_feeds;
    struct decrypt_config {         /* passive TLS decryption (src/decrypt) */
        const char *keylogs[8];     /* --keylog files (not in YAML) */
        int n_keylogs;
        const char *rsa_keys[32];   /* --rsa-key FILE[:ADDR:PORT] */
        int n_rsa_keys;
        bool capture_secrets;       /* a pcapng file's secrets blocks */
        uint64_t memcap;            /* sessions and record buffers */
        uint32_t keylog_entries;    /* sessions whose secrets are kept */
    } decrypt;
    char bpf[CONFIG_STR_MAX];
    struct eta_config {
        bool enabled;               /* score flows with the ETA model */
        char model[CONFIG_STR_MAX]; /* model file; "" the built-in one */
        double threshold;           /* 0: the model's */
        uint32_t min_packets;       /* 0: the model's */
        uint32_t pairs;             /* pair history entries */
        uint32_t top_features;      /* contributions named in an alert */
        bool log_features;          /* feature vectors in flow records */
        bool features_only;         /* no model (nightjar-train): not a setting */
    } eta;
    struct anomaly_settings {
        bool enabled;               /* baselines, outliers, behaviour, incidents */
        char home_nets[CONFIG_STR_MAX];
        char trusted_proxies[CONFIG_STR_MAX]; /* whose X-Forwarded-For counts */
        char trusted_proxy_header[CONFIG_STR_MAX]; /* auto, x-forwarded-for, forwarded */
        uint32_t learning;          /* seconds before outliers are reported */
        uint32_t half_life_days;
        uint32_t hosts, pairs;
        char state_dir[CONFIG_STR_MAX];
        uint32_t save_interval;     /* seconds between state saves, live */
        uint32_t incident_timeout;  /* seconds without a finding */
        uint64_t exfil_min;
        uint32_t scan_min_targets, beacon_min_conns;
    } anomaly;
    struct detect_settings {
        bool c2;                    /* C2-channel evidence per pair */
        bool remote_exec;           /* code run on other internal hosts */
        uint32_t c2_pairs;
        uint32_t c2_min_score, c2_strong_score;
        bool delivery;              /* executables and macro documents arriving */
        bool exfil;                 /* credentials and data out in the clear */
        bool icmp_tunnel;           /* ICMP echo that does not echo */
    } detect;
    struct response_settings {      /* what is done about a compromised host */
        char contain[CONFIG_STR_MAX];   /* "none" or "nftables" */
        bool dry_run;               /* only log what would be done */
        uint32_t timeout;           /* seconds a containment lives */
        char allowlist[CONFIG_STR_MAX]; /* hosts and networks never contained */
        char nft_family[CONFIG_STR_MAX];    /* ip, ip6 or inet */
        char nft_table[CONFIG_STR_MAX];
        char nft_set4[CONFIG_STR_MAX], nft_set6[CONFIG_STR_MAX];
        bool nft_drop;              /* chains dropping the sets' traffic */
    } response;
    struct correlate_settings {     /* nightjar correlate (docs/deployment.md) */
        char from[CONFIG_STR_MAX];      /* kafka, redis, or a file ("-": stdin) */
        char group[CONFIG_STR_MAX];     /* Kafka and Redis consumer group */
        uint32_t idle_exit;         /* seconds with nothing new, then exit; 0: never */
    } correlate;
    struct icap_settings {          /* nightjar-icap (docs/icap.md) */
        char listen[CONFIG_STR_MAX];    /* ADDRESS:PORT */
        char service[CONFIG_STR_MAX];   /* the service's path: /scan */
        bool fail_open;             /* pass what cannot be judged */
        uint64_t max_body;          /* body bytes kept and judged */
        uint32_t timeout;           /* seconds a transaction may stall */
        uint32_t idle_timeout;      /* seconds an idle connection is kept */
        uint32_t max_connections;
        uint32_t workers;           /* scan threads; 0: one per CPU */
        uint32_t preview;           /* Preview size offered in OPTIONS */
        uint32_t options_ttl;
        char block_page[CONFIG_STR_MAX];     /* HTML file; "" built in */
        char transfer_ignore[CONFIG_STR_MAX];
        char transfer_complete[CONFIG_STR_MAX];
    } icap;
    struct mta_settings {           /* nightjar-mta (docs/mta.md) */
        char listen[CONFIG_STR_MAX];    /* ADDRESS:PORT */
        char relay[CONFIG_STR_MAX];     /* HOST:PORT of the next hop */
        uint32_t relay_connections; /* delivery threads, a connection each */
        char queue[CONFIG_STR_MAX];     /* the queue directory */
        char hostname[CONFIG_STR_MAX];  /* in the greeting and EHLO */
        char action[CONFIG_STR_MAX];    /* reject, quarantine, tag or strip */
        char strip_fallback[CONFIG_STR_MAX]; /* when strip cannot: reject, quarantine, tag */
        bool fail_open;             /* deliver what could not be judged */
        uint64_t max_size;          /* message bytes (SIZE) */
        uint32_t max_recipients;
        uint32_t max_connections;
        uint32_t timeout;           /* seconds a session may be silent */
        uint32_t retry_min, retry_max;  /* delivery backoff, seconds */
        uint32_t hold_after;        /* seconds undelivered, then held */
        bool bounce;                /* a failed mail: a report to its sender */
        char tls_cert[CONFIG_STR_MAX];  /* PEM; with tls_key: STARTTLS offered */
        char tls_key[CONFIG_STR_MAX];
        bool tls_require;           /* no mail before STARTTLS (530 5.7.0) */
        char relay_tls[CONFIG_STR_MAX]; /* to the next hop: may, encrypt, none */
        bool relay_tls_verify;      /* check the next hop's certificate and name */
        char relay_tls_ca[CONFIG_STR_MAX];  /* CAs for that; "": the system's */
    } mta;
};

void config_defaults(struct nj_config *c);

/* Sets one setting from text. Returns false with a message in err. */
bool config_set(struct nj_config *c, const char *name, const char *value,
                char *err, size_t errlen);

/* "name=value" form of config_set, for --set. */
bool config_set_assignment(struct nj_config *c, const char *assignment,
                           char *err, size_t errlen);

/* Reads a YAML file of nested mappings whose leaves are settings. */
bool config_load_yaml(struct nj_config *c, const char *path, char *err,
                      size_t errlen);

/* Writes every setting with its current value as YAML-ish "name: value"
 * lines, with its help as a comment. */
void config_dump(const struct nj_config *c, FILE *out);

/* Checks cross-setting constraints after everything was read. */
bool config_validate(const struct nj_config *c, char *err, size_t errlen);

#endif
