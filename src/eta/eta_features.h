/* eta_features.h -- the feature vector of encrypted-traffic analysis.
 *
 * One flow becomes ETA_NFEATURES floats: its shape (sizes, timing, rounds,
 * the first packets' lengths and gaps, byte distribution), facts of its
 * TLS/QUIC handshake (counts and classes -- never a name or an address, so
 * a model learns behaviour and not infrastructure), the periodicity of the
 * same client's earlier connections to the same server and port, and what
 * DNS said about the server. A feature that does not apply (no handshake,
 * no earlier connection, no DNS answer) is NaN: the model's "missing".
 *
 * The list below is the contract between the sensor, nightjar-train and
 * every model file: a model names the features it was trained on and the
 * sensor refuses it unless they are exactly these, in this order. Adding,
 * removing or reordering a feature changes ETA_FEATURE_SET and needs a new
 * model. docs/eta.md explains every feature (a test keeps it complete).
 * Extraction is a pure function of its inputs; it never allocates.
 */
#ifndef NIGHTJAR_ETA_FEATURES_H
#define NIGHTJAR_ETA_FEATURES_H

#include <stdint.h>

#include "flow/flow.h"

#define ETA_FEATURE_SET "nightjar-eta-features-1"
#define ETA_SPLT_N 10      /* first payload packets in the vector */
#define ETA_ROUNDS_N 8     /* first rounds in the vector */

#define ETA_SPLT_X(X, n) \
    X(splt_len_##n, "payload length of packet " #n " (at most 1500), negative from the server") \
    X(splt_iat_##n, "ms between payload packet " #n " and the one before")
#define ETA_ROUND_X(X, n) \
    X(round_pkts_##n, "payload packets in round " #n) \
    X(round_bytes_##n, "payload bytes in round " #n ", negative from the server")

#define ETA_FEATURES(X)                                                       \
    X(duration, "seconds from first to last packet")                          \
    X(pkts_out, "packets client to server")                                   \
    X(pkts_in, "packets server to client")                                    \
    X(bytes_out, "payload bytes client to server")                            \
    X(bytes_in, "payload bytes server to client")                             \
    X(payload_pkts_out, "client packets that carry payload")                  \
    X(payload_pkts_in, "server packets that carry payload")                   \
    X(bytes_out_share, "bytes_out / (bytes_out + bytes_in)")                  \
    X(size_mean_out, "mean IP length of client packets")                      \
    X(size_std_out, "standard deviation of client IP lengths")                \
    X(size_max_out, "largest client IP length, at most 1500")                               \
    X(size_mean_in, "mean IP length of server packets")                       \
    X(size_std_in, "standard deviation of server IP lengths")                 \
    X(size_max_in, "largest server IP length, at most 1500")                                \
    X(iat_mean_out, "mean ms between client packets")                         \
    X(iat_std_out, "standard deviation of ms between client packets")         \
    X(iat_max_out, "longest ms between client packets")                       \
    X(iat_mean_in, "mean ms between server packets")                          \
    X(iat_std_in, "standard deviation of ms between server packets")          \
    X(iat_max_in, "longest ms between server packets")                        \
    X(rounds, "direction changes of payload packets, plus one")               \
    ETA_ROUND_X(X, 1) ETA_ROUND_X(X, 2) ETA_ROUND_X(X, 3) ETA_ROUND_X(X, 4)   \
    ETA_ROUND_X(X, 5) ETA_ROUND_X(X, 6) ETA_ROUND_X(X, 7) ETA_ROUND_X(X, 8)   \
    ETA_SPLT_X(X, 1) ETA_SPLT_X(X, 2) ETA_SPLT_X(X, 3) ETA_SPLT_X(X, 4)       \
    ETA_SPLT_X(X, 5) ETA_SPLT_X(X, 6) ETA_SPLT_X(X, 7) ETA_SPLT_X(X, 8)       \
    ETA_SPLT_X(X, 9) ETA_SPLT_X(X, 10)                                        \
    X(entropy_out, "bits per byte of the first client payload bytes")        \
    X(entropy_in, "bits per byte of the first server payload bytes")         \
    X(printable_out, "printable share of the first client payload bytes")    \
    X(printable_in, "printable share of the first server payload bytes")     \
    X(transport, "IP protocol: 6 TCP, 17 UDP, else the number")               \
    X(app_proto, "detected application protocol (enum app_proto)")           \
    X(server_port_class, "0: below 1024, 1: 1024-49151, 2: 49152 and up")     \
    X(tcp_rst, "1 when either side sent a TCP reset")                         \
    X(tcp_handshake, "1 when the TCP handshake was seen")                     \
    X(tls, "1 when a TLS, DTLS or QUIC handshake was seen")                   \
    X(tls_quic, "1 for QUIC")                                                 \
    X(tls_version, "negotiated version minus 0x0300 (TLS 1.3 is 4)")          \
    X(tls_client_max_version, "highest offered version minus 0x0300")         \
    X(tls_ciphers, "cipher suites offered")                                   \
    X(tls_weak_ciphers, "NULL/EXPORT/anon/RC4/DES/3DES suites offered")       \
    X(tls_extensions, "extensions offered")                                   \
    X(tls_groups, "supported groups offered")                                 \
    X(tls_sig_algs, "signature algorithms offered")                           \
    X(tls_alpn, "ALPN protocols offered")                                     \
    X(tls_alpn_h2, "1 when h2 is offered")                                    \
    X(tls_alpn_http11, "1 when http/1.1 is offered")                          \
    X(tls_ext_session_ticket, "session_ticket extension offered")             \
    X(tls_ext_supported_versions, "supported_versions extension offered")     \
    X(tls_ext_key_share, "key_share extension offered")                       \
    X(tls_ext_status_request, "status_request (OCSP stapling) offered")       \
    X(tls_ext_ems, "extended_master_secret offered")                          \
    X(tls_ext_renegotiation, "renegotiation_info offered")                    \
    X(tls_ext_grease, "GREASE values in suites or extensions")                \
    X(tls_ext_padding, "padding extension offered")                           \
    X(tls_ext_ech, "encrypted_client_hello offered")                          \
    X(tls_session_id_len, "length of the legacy session id")                  \
    X(tls_cipher_aead, "1 when the chosen suite is AEAD")                     \
    X(tls_cipher_fs, "1 when the chosen suite has forward secrecy")           \
    X(tls_complete, "1 when both sides finished the handshake")               \
    X(cert_present, "1 when a server certificate was seen (TLS <= 1.2)")      \
    X(cert_self_signed, "1 when the leaf is self-signed")                     \
    X(cert_validity_days, "days from notBefore to notAfter")                  \
    X(cert_age_days, "days from notBefore to the flow's start")               \
    X(cert_days_left, "days from the flow's start to notAfter")               \
    X(cert_sans, "subject alternative names in the leaf")                     \
    X(cert_chain_len, "certificates the server sent")                         \
    X(cert_key_bits, "leaf public key size in bits")                          \
    X(sni_present, "1 when the client sent a server name")                    \
    X(sni_len, "length of the server name")                                   \
    X(sni_entropy, "bits per character of the server name")                   \
    X(sni_digit_share, "share of digits in the server name")                  \
    X(sni_labels, "labels (dot-separated parts) of the server name")          \
    X(sni_is_address, "1 when the server name is an IP address")              \
    X(sni_cert_match, "1 when the leaf certificate covers the server name")   \
    X(pair_conns, "connections of this client to this server and port kept")  \
    X(pair_interval_mean, "mean seconds between those connections' starts")   \
    X(pair_interval_cv, "their standard deviation divided by their mean")     \
    X(pair_regularity, "Fourier peak of the connection starts, 0..1")         \
    X(pair_bytes_cv, "coefficient of variation of their client bytes")        \
    X(dns_known, "1 when a DNS answer named the server before the flow")      \
    X(dns_ttl, "TTL of that answer in seconds")                               \
    X(dns_addrs, "addresses in that answer")

enum eta_feature {
#define X(name, doc) ETA_F_##name,
    ETA_FEATURES(X)
#undef X
    ETA_NFEATURES
};

extern const char *const eta_feature_names[ETA_NFEATURES];
extern const char *const eta_feature_docs[ETA_NFEATURES];

/* What the connection's history says: see eta_history.h. */
struct eta_pair_stats {
    uint32_t conns;            /* connections in the history, this one too */
    double interval_mean;      /* seconds; NaN below 2 connections */
    double interval_cv;
    double regularity;         /* NaN below 3 connections */
    double bytes_cv;
};

/* What the flow alone does not carry. Any pointer may be NULL. */
struct eta_context {
    const struct tls_summary *tls;
    const struct eta_pair_stats *pair;
    int dns_known;              /* a fresh DNS answer named the server */
    uint32_t dns_ttl;
    uint32_t dns_addrs;
};

void eta_features_extract(const struct flow *f, const struct eta_context *ctx,
                          float out[ETA_NFEATURES]);

/* Shannon entropy of a string, bits per character (0 for ""). */
double eta_text_entropy(const char *s);

#endif
