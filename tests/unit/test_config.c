/* test_config.c -- settings: defaults, --set, YAML files, and the errors a
 * person gets for a typo, a bad value or a broken file. */
#include <unistd.h>

#include "config/config.h"
#include "testing.h"

static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/nj-test-config-%d.yaml", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void defaults_need_no_file(void)
{
    struct nj_config c;
    config_defaults(&c);
    char err[256];
    CHECK(config_validate(&c, err, sizeof(err)));
    CHECK_EQ(c.flow.timeout_tcp_established, 3600);
    CHECK_EQ(c.flow.memcap, 256ull << 20);
    CHECK_EQ(c.flow.splt_len, 32);
    CHECK_STR(c.eve_path, "nightjar-eve.json");
    CHECK(c.promiscuous);
}

static void set_accepts_sizes_and_refuses_nonsense(void)
{
    struct nj_config c;
    config_defaults(&c);
    char err[256];
    CHECK(config_set_assignment(&c, "stream.memcap=512kb", err, sizeof(err)));
    CHECK_EQ(c.stream.memcap, 512 * 1024);
    CHECK(config_set_assignment(&c, "flow.memcap=2g", err, sizeof(err)));
    CHECK_EQ(c.flow.memcap, 2ull << 30);
    CHECK(!config_set_assignment(&c, "flow.memcap=lots", err, sizeof(err)));
    CHECK(strstr(err, "not a size") != NULL);
    CHECK(!config_set_assignment(&c, "flow.timeouts.tcp-new=-1", err, sizeof(err)));
    CHECK(!config_set_assignment(&c, "flow.nonsense=1", err, sizeof(err)));
    CHECK(strstr(err, "unknown setting") != NULL);
    CHECK(!config_set_assignment(&c, "novalue", err, sizeof(err)));
    CHECK(config_set_assignment(&c, "capture.promiscuous=no", err, sizeof(err)));
    CHECK(!c.promiscuous);
}

static void yaml_nested_mappings_become_dotted_names(void)
{
    struct nj_config c;
    config_defaults(&c);
    char err[256];
    const char *p = write_tmp(
        "# a comment\n"
        "flow:\n"
        "  memcap: 64mb\n"
        "  timeouts:\n"
        "    tcp-new: 12\n"
        "    udp-established: 99\n"
        "eve-log:\n"
        "  filename: /tmp/x.json\n");
    CHECK(config_load_yaml(&c, p, err, sizeof(err)));
    CHECK_EQ(c.flow.memcap, 64ull << 20);
    CHECK_EQ(c.flow.timeout_tcp_new, 12);
    CHECK_EQ(c.flow.timeout_udp_established, 99);
    CHECK_STR(c.eve_path, "/tmp/x.json");
    unlink(p);
}

static void yaml_errors_name_file_and_line(void)
{
    struct nj_config c;
    config_defaults(&c);
    char err[512];
    const char *p = write_tmp("flow:\n  memcap: 64mb\n  splt-pakets: 3\n");
    CHECK(!config_load_yaml(&c, p, err, sizeof(err)));
    CHECK(strstr(err, ":3:") != NULL);
    CHECK(strstr(err, "flow.splt-pakets") != NULL);
    p = write_tmp("flow: [1, 2\n");
    CHECK(!config_load_yaml(&c, p, err, sizeof(err)));
    CHECK(strstr(err, p) != NULL);
    unlink(p);
    CHECK(!config_load_yaml(&c, "/nonexistent/nightjar.yaml", err, sizeof(err)));
    CHECK(strstr(err, "cannot open") != NULL);
}

static void yaml_lists_of_scalars_are_list_settings(void)
{
    struct nj_config c;
    config_defaults(&c);
    char err[512];
    CHECK_STR(c.anomaly.trusted_proxies, "");
    CHECK(!c.decrypted_feed);
    const char *p = write_tmp(
        "capture:\n"
        "  decrypted-feed: yes\n"
        "  decrypted-feed-ports: [443, 8443]\n"
        "anomaly:\n"
        "  trusted-proxies:\n"
        "    - 10.0.0.1\n"
        "    - 2001:db8::/64\n"
        "  trusted-proxy-header: forwarded\n");
    CHECK(config_load_yaml(&c, p, err, sizeof(err)));
    CHECK(c.decrypted_feed);
    CHECK_STR(c.decrypted_feed_ports, "443,8443");
    CHECK_STR(c.anomaly.trusted_proxies, "10.0.0.1,2001:db8::/64");
    CHECK_STR(c.anomaly.trusted_proxy_header, "forwarded");
    /* --set takes the same list, comma-separated */
    CHECK(config_set_assignment(&c, "anomaly.trusted-proxies=127.0.0.1,::1",
                                err, sizeof(err)));
    CHECK_STR(c.anomaly.trusted_proxies, "127.0.0.1,::1");
    /* a list where no setting is, or of mappings, is an error with its line */
    p = write_tmp("- 1\n- 2\n");
    CHECK(!config_load_yaml(&c, p, err, sizeof(err)));
    p = write_tmp("anomaly:\n  trusted-proxies:\n    - a: 1\n");
    CHECK(!config_load_yaml(&c, p, err, sizeof(err)));
    CHECK(strstr(err, ":3:") != NULL);
    unlink(p);
}

static void validate_refuses_impossible_combinations(void)
{
    struct nj_config c;
    config_defaults(&c);
    char err[256];
    c.flow.memcap = 10;
    CHECK(!config_validate(&c, err, sizeof(err)));
    config_defaults(&c);
    c.community_id_seed = 70000;
    CHECK(!config_validate(&c, err, sizeof(err)));
}

/* nightjar-mta's TLS: a certificate needs its key, requiring TLS needs
 * both, the next hop's TLS is one of three words, and verifying it needs
 * TLS to it */
static void validate_mta_tls_settings(void)
{
    struct nj_config c;
    config_defaults(&c);
    char err[256];
    CHECK_STR(c.mta.relay_tls, "may");
    CHECK(!c.mta.tls_require && !c.mta.relay_tls_verify);
    CHECK(config_set_assignment(&c, "mta.tls-cert=/etc/ssl/mta.pem", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(strstr(err, "mta.tls-key") != NULL);
    CHECK(config_set_assignment(&c, "mta.tls-key=/etc/ssl/mta.key", err, sizeof(err)));
    CHECK(config_set_assignment(&c, "mta.tls-require=yes", err, sizeof(err)));
    CHECK(config_validate(&c, err, sizeof(err)));
    CHECK(config_set_assignment(&c, "mta.tls-cert=", err, sizeof(err)));
    CHECK(config_set_assignment(&c, "mta.tls-key=", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(strstr(err, "mta.tls-require") != NULL);

    config_defaults(&c);
    CHECK(config_set_assignment(&c, "mta.relay-tls=maybe", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(strstr(err, "mta.relay-tls") != NULL);
    CHECK(config_set_assignment(&c, "mta.relay-tls=encrypt", err, sizeof(err)));
    CHECK(config_set_assignment(&c, "mta.relay-tls-verify=yes", err, sizeof(err)));
    CHECK(config_validate(&c, err, sizeof(err)));
    CHECK(config_set_assignment(&c, "mta.relay-tls=none", err, sizeof(err)));
    CHECK(!config_validate(&c, err, sizeof(err)));
    CHECK(strstr(err, "mta.relay-tls-verify") != NULL);
}

TEST_LIST(defaults_need_no_file, set_accepts_sizes_and_refuses_nonsense,
          yaml_nested_mappings_become_dotted_names,
          yaml_errors_name_file_and_line,
          yaml_lists_of_scalars_are_list_settings,
          validate_refuses_impossible_combinations,
          validate_mta_tls_settings)
