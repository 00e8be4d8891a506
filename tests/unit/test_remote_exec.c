/* test_remote_exec.c -- remote execution between internal hosts: alone an
 * anomaly (once per source, target and means); an alert about the source
 * when the target alerts within 30 minutes after, not later and not
 * before; an alert about the target when the source had alerted before;
 * DCSync an alert only when the domain controllers are known and the
 * replicator is none of them; WinRM from its URL; outside hosts never. */
#include <math.h>

#include "detect/remote_exec.h"
#include "flow/flow.h"
#include "proto/dcerpc.h"
#include "proto/http.h"
#include "testing.h"

#define T0 1700000000ull
#define SEC(t) ((uint64_t)((T0 + (t)) * 1000000ull))

static struct finding seen[32];
static int n_seen;
static struct remote_exec *rx;

/* what the pipeline does: every finding back to the detector */
static void sink(void *ctx, const struct finding *fd)
{
    (void)ctx;
    if (n_seen < 32)
        seen[n_seen++] = *fd;
    remote_exec_on_finding(rx, fd);
}

static struct home_net home;

static void setup(void)
{
    char err[128];
    CHECK(home_net_parse(&home, HOME_NET_DEFAULT, err, sizeof(err)));
}

static void teardown(void)
{
    remote_exec_free(rx);
}

/* a new detector for each test */
static void fresh(void)
{
    remote_exec_free(rx);
    n_seen = 0;
    rx = remote_exec_new(&home, sink, NULL);
    CHECK(rx != NULL);
}

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct ip_addr x;
    memset(&x, 0, sizeof(x));
    x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
    return x;
}

static struct flow fl;

static const struct flow *flow(struct ip_addr client, struct ip_addr server, uint16_t port)
{
    memset(&fl, 0, sizeof(fl));
    fl.key.ip_version = 4;
    fl.key.proto = 6;
    fl.key.lo = client;
    fl.key.hi = server;
    fl.key.lo_port = 50000;
    fl.key.hi_port = port;
    fl.client_is_lo = 1;
    fl.dir[1].payload_pkts = 2;
    return &fl;
}

static void rpc(struct ip_addr a, struct ip_addr b, enum dcerpc_op op, double t)
{
    struct dcerpc_call c = { RPC_IF_SVCCTL, op, 12, true };
    remote_exec_on_rpc(rx, flow(a, b, 445), &c, SEC(t));
}

/* another detector's alert about h at t */
static void alert(struct ip_addr h, double t)
{
    struct finding fd;
    memset(&fd, 0, sizeof(fd));
    fd.kind = FINDING_c2_channel;
    fd.severity = 2;
    fd.ip_version = 4;
    fd.host = h;
    fd.ts_usec = SEC(t);
    fd.observed = fd.baseline = fd.deviation = NAN;
    sink(NULL, &fd);
}

static const struct ip_addr *A(void) { static struct ip_addr a; a = v4(10, 0, 0, 5); return &a; }
static const struct ip_addr *B(void) { static struct ip_addr b; b = v4(10, 0, 0, 6); return &b; }

static void test_an_operation_alone_is_an_anomaly_once(void)
{
    fresh();
    rpc(*A(), *B(), RPC_OP_SERVICE_CREATE, 0);
    rpc(*A(), *B(), RPC_OP_SERVICE_CREATE, 5);
    CHECK_EQ(n_seen, 1);
    CHECK(seen[0].anomaly);
    CHECK_EQ(seen[0].kind, FINDING_lateral_movement);
    CHECK_EQ(seen[0].severity, 3);
    CHECK(!memcmp(&seen[0].host, A(), 4) && !memcmp(&seen[0].peer, B(), 4));
    CHECK_STR(seen[0].detail, "ran code on 10.0.0.6 from afar: created or changed a "
                              "service on it (svcctl)");
    CHECK_STR(seen[0].indicators, "remote_service");
    /* another means is another operation */
    rpc(*A(), *B(), RPC_OP_WMI_EXEC, 6);
    CHECK_EQ(n_seen, 2);
    CHECK_STR(seen[1].indicators, "remote_wmi");
    /* from or to a host outside: not lateral */
    rpc(v4(203, 0, 113, 9), *B(), RPC_OP_SERVICE_CREATE, 7);
    rpc(*A(), v4(203, 0, 113, 9), RPC_OP_SERVICE_CREATE, 7);
    CHECK_EQ(n_seen, 2);
    CHECK_EQ(remote_exec_stats(rx)->operations, 3);
}

static void test_the_target_alerting_after_blames_the_source(void)
{
    fresh();
    rpc(*A(), *B(), RPC_OP_DCOM_CREATE, 0);
    CHECK_EQ(n_seen, 1);
    /* the target calls out 27 s later */
    alert(*B(), 27);
    CHECK_EQ(n_seen, 3);
    const struct finding *x = &seen[2];
    CHECK(!x->anomaly);
    CHECK_EQ(x->severity, 2);
    CHECK(!memcmp(&x->host, A(), 4) && !memcmp(&x->peer, B(), 4));
    CHECK(x->peer_internal);
    CHECK_STR(x->detail, "ran code on 10.0.0.6 from afar (created a DCOM object on it "
                         "(RemoteCreateInstance)) 27 s before an alert on that host "
                         "(c2_channel): the intrusion came from here");
    /* once */
    alert(*B(), 40);
    CHECK_EQ(n_seen, 4);
    CHECK_EQ(remote_exec_stats(rx)->alerts, 1);
}

static void test_too_late_or_before_blames_nobody(void)
{
    fresh();
    struct ip_addr c = v4(10, 0, 0, 7), d = v4(10, 0, 0, 8);
    /* the target's alert 30 min and a second after */
    rpc(*A(), *B(), RPC_OP_TASK_CREATE, 0);
    alert(*B(), 30 * 60 + 1);
    /* the target's alert came before the operation: an administrator
     * looking at a host already flagged */
    alert(d, 100);
    rpc(c, d, RPC_OP_WMI_EXEC, 200);
    CHECK_EQ(remote_exec_stats(rx)->alerts, 0);
    CHECK_EQ(n_seen, 4); /* two anomalies, two alerts of "another detector" */
}

static void test_a_compromised_source_blames_its_target(void)
{
    fresh();
    alert(*A(), 0);
    rpc(*A(), *B(), RPC_OP_SERVICE_CREATE, 90);
    CHECK_EQ(n_seen, 3);
    CHECK(seen[1].anomaly);
    const struct finding *x = &seen[2];
    CHECK(!x->anomaly);
    CHECK(!memcmp(&x->host, B(), 4) && !memcmp(&x->peer, A(), 4));
    CHECK_STR(x->detail, "10.0.0.5, which had an alert (c2_channel) 90 s before, ran "
                         "code on this host from afar: created or changed a service on "
                         "it (svcctl)");
    CHECK_EQ(remote_exec_stats(rx)->alerts, 1);
}

static void test_replication_by_a_host_that_is_no_controller(void)
{
    fresh();
    struct ip_addr dc = v4(10, 0, 0, 2), dc2 = v4(10, 0, 0, 3);
    /* no controller known yet: an anomaly */
    rpc(*A(), dc, RPC_OP_REPLICATE, 0);
    CHECK_EQ(n_seen, 1);
    CHECK(seen[0].anomaly);
    CHECK_STR(seen[0].indicators, "dcsync");
    /* dc serves Kerberos; dc2 asks it: a controller's work */
    remote_exec_on_flow_end(rx, flow(*B(), dc, 88));
    remote_exec_on_flow_end(rx, flow(*B(), dc2, 88));
    rpc(dc2, dc, RPC_OP_REPLICATE, 10);
    CHECK_EQ(n_seen, 1);
    /* a workstation asks: an alert */
    rpc(*B(), dc, RPC_OP_REPLICATE, 20);
    CHECK_EQ(n_seen, 2);
    CHECK(!seen[1].anomaly);
    CHECK(strstr(seen[1].detail, "is none of the hosts seen serving Kerberos") != NULL);
    CHECK_EQ(remote_exec_stats(rx)->dcsync, 1);
}

static void test_winrm_from_its_url(void)
{
    fresh();
    struct http_tx tx;
    memset(&tx, 0, sizeof(tx));
    snprintf(tx.method, sizeof(tx.method), "POST");
    snprintf(tx.uri, sizeof(tx.uri), "/wsman?PSVersion=5.1.18362.752");
    remote_exec_on_http(rx, flow(*A(), *B(), 5985), &tx, SEC(0));
    CHECK_EQ(n_seen, 1);
    CHECK_STR(seen[0].indicators, "winrm");
    /* a GET, another path */
    snprintf(tx.method, sizeof(tx.method), "GET");
    remote_exec_on_http(rx, flow(*B(), *A(), 5985), &tx, SEC(1));
    snprintf(tx.method, sizeof(tx.method), "POST");
    snprintf(tx.uri, sizeof(tx.uri), "/wsmanual.html");
    remote_exec_on_http(rx, flow(*B(), *A(), 80), &tx, SEC(2));
    CHECK_EQ(n_seen, 1);
}

TEST_LIST_FIXTURE(setup, teardown, test_an_operation_alone_is_an_anomaly_once,
          test_the_target_alerting_after_blames_the_source,
          test_too_late_or_before_blames_nobody,
          test_a_compromised_source_blames_its_target,
          test_replication_by_a_host_that_is_no_controller,
          test_winrm_from_its_url);
