/* test_queue.c -- nightjar-mta's durable queue: what is committed survives
 * a process killed with SIGKILL at any point after it, what was not is
 * gone, and half-finished commits and moves are repaired at open. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mta/mta_commit.h"
#include "mta/queue.h"
#include "testing.h"

static char base[64], dir[128];
static char err[512];

static void setup(void)
{
    snprintf(base, sizeof(base), "/tmp/nj-queue-XXXXXX");
    REQUIRE(mkdtemp(base) != NULL);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
    CHECK(system(cmd) == 0);
}

/* each test its own queue directory */
static void use(const char *name)
{
    snprintf(dir, sizeof(dir), "%s/%s", base, name);
}

static struct queue_envelope env(const char *from, int n_rcpt)
{
    struct queue_envelope e;
    memset(&e, 0, sizeof(e));
    snprintf(e.from, sizeof(e.from), "%s", from);
    snprintf(e.helo, sizeof(e.helo), "mx.example.org");
    snprintf(e.client, sizeof(e.client), "192.0.2.25");
    e.arrived_usec = 1700000000123456ull;
    e.body_8bit = true;
    e.n_rcpt = (unsigned)n_rcpt;
    for (int i = 0; i < n_rcpt; i++)
        snprintf(e.rcpt[i], sizeof(e.rcpt[i]), "user%d@example.net", i);
    return e;
}

static unsigned listed;
static char last_id[QUEUE_ID_MAX];

static void count(void *ctx, const char *id)
{
    (void)ctx;
    listed++;
    snprintf(last_id, sizeof(last_id), "%s", id);
}

static size_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (size_t)sb.st_size : (size_t)-1;
}

static void test_commit_list_load_remove(void)
{
    use("basic");
    unsigned rec = 99;
    struct mta_queue *q = queue_open(dir, &rec, err, sizeof(err));
    REQUIRE(q != NULL);
    CHECK_EQ(rec, 0);
    struct queue_file *f = queue_begin(q, err, sizeof(err));
    REQUIRE(f != NULL);
    char chunk[7000];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)('a' + i % 26);
    for (int i = 0; i < 30; i++) /* 210,000 bytes: past the write buffer */
        CHECK(queue_write(f, chunk, sizeof(chunk)));
    CHECK_EQ(queue_file_size(f), 210000);
    struct queue_envelope e = env("alice@example.org", 3), back;
    char id[QUEUE_ID_MAX], path[1300];
    CHECK(queue_commit(f, &e, false, id, sizeof(id), err, sizeof(err)));
    listed = 0;
    CHECK_EQ(queue_list(q, count, NULL), 1);
    CHECK_STR(last_id, id);
    CHECK(queue_load(q, id, &back, path, sizeof(path)));
    CHECK_STR(back.from, "alice@example.org");
    CHECK_EQ(back.n_rcpt, 3);
    CHECK_STR(back.rcpt[2], "user2@example.net");
    CHECK_STR(back.helo, "mx.example.org");
    CHECK(back.body_8bit && back.arrived_usec == e.arrived_usec);
    CHECK_EQ(file_size(path), 210000);
    CHECK(queue_remove(q, id));
    listed = 0;
    CHECK_EQ(queue_list(q, count, NULL), 0);
    CHECK_EQ(file_size(path), (size_t)-1);
    /* the null sender and an aborted message */
    f = queue_begin(q, err, sizeof(err));
    queue_abort(f);
    f = queue_begin(q, err, sizeof(err));
    CHECK(queue_write(f, "x", 1));
    e = env("", 1);
    CHECK(queue_commit(f, &e, false, id, sizeof(id), err, sizeof(err)));
    CHECK(queue_load(q, id, &back, path, sizeof(path)));
    CHECK_STR(back.from, "");
    CHECK(queue_move(q, id, "quarantine"));
    CHECK(!queue_move(q, id, "elsewhere"));
    CHECK_EQ(queue_list(q, count, NULL), 0);
    char qpath[1500];
    snprintf(qpath, sizeof(qpath), "%s/quarantine/%s.msg", dir, id);
    CHECK_EQ(file_size(qpath), 1);
    /* committed straight into quarantine: never listed for delivery */
    f = queue_begin(q, err, sizeof(err));
    CHECK(queue_write(f, "yz", 2));
    CHECK(queue_commit(f, &e, true, id, sizeof(id), err, sizeof(err)));
    CHECK_EQ(queue_list(q, count, NULL), 0);
    snprintf(qpath, sizeof(qpath), "%s/quarantine/%s.env", dir, id);
    CHECK(file_size(qpath) != (size_t)-1);
    queue_close(q);
}

/* A child that commits n messages, leaves one half-written, and is killed
 * with SIGKILL. */
static void killed_child(int n)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct mta_queue *q = queue_open(dir, NULL, err, sizeof(err));
        if (!q)
            _exit(3);
        char id[QUEUE_ID_MAX];
        for (int i = 0; i < n; i++) {
            struct queue_file *f = queue_begin(q, err, sizeof(err));
            struct queue_envelope e = env("bob@example.org", 1);
            if (!f || !queue_write(f, "Subject: hi\r\n\r\nbody\r\n", 21) ||
                !queue_commit(f, &e, false, id, sizeof(id), err, sizeof(err)))
                _exit(4);
        }
        struct queue_file *f = queue_begin(q, err, sizeof(err));
        if (f)
            queue_write(f, "half a message", 14);
        raise(SIGKILL);
        _exit(5);
    }
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void test_what_was_committed_survives_sigkill(void)
{
    use("killed");
    killed_child(5);
    unsigned rec = 0;
    struct mta_queue *q = queue_open(dir, &rec, err, sizeof(err));
    REQUIRE(q != NULL);
    CHECK_EQ(rec, 5);
    listed = 0;
    CHECK_EQ(queue_list(q, count, NULL), 5);
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
    DIR *d = opendir(tmp);
    int left = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        left += de->d_name[0] != '.';
    if (d)
        closedir(d);
    CHECK_EQ(left, 0); /* the half-written one is gone */
    queue_close(q);
}

static void touch(const char *sub, const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs("nightjar-queue 1\nfrom a@b.example\nrcpt c@d.example\n", f);
        fclose(f);
    }
}

static void test_half_finished_commits_and_moves_are_repaired(void)
{
    use("repair");
    struct mta_queue *q = queue_open(dir, NULL, err, sizeof(err));
    REQUIRE(q != NULL);
    queue_close(q);
    touch("active", "0001-orphan.msg");     /* commit cut before its envelope */
    touch("active", "0002-moving.env");     /* moved aside, envelope behind */
    touch("hold", "0002-moving.msg");
    touch("active", "0003-whole.msg");
    touch("active", "0003-whole.env");
    unsigned rec = 0;
    q = queue_open(dir, &rec, err, sizeof(err));
    REQUIRE(q != NULL);
    CHECK_EQ(rec, 1);
    char p[512];
    snprintf(p, sizeof(p), "%s/active/0001-orphan.msg", dir);
    CHECK_EQ(file_size(p), (size_t)-1);
    snprintf(p, sizeof(p), "%s/hold/0002-moving.env", dir);
    CHECK(file_size(p) != (size_t)-1);
    queue_close(q);
    /* a queue where the directory cannot be made */
    CHECK(queue_open("/proc/nightjar-no-such/queue", NULL, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "queue") != NULL);
}

static unsigned collected, collected_ok;

static void on_done(void *ctx, struct mta_commit_job *job)
{
    (void)ctx;
    collected++;
    collected_ok += job->ok;
    CHECK(job->qf == NULL);
    CHECK(job->ok ? job->id[0] != '\0' : job->err[0] != '\0');
}

/* Commits on worker threads: each job done once, durable (listed), with
 * an id; a commit that cannot happen (its directory gone) says why; with
 * no workers the job is done in the caller. */
static void test_commits_on_workers(void)
{
    use("workers");
    struct mta_queue *q = queue_open(dir, NULL, err, sizeof(err));
    REQUIRE(q != NULL);
    struct mta_commit *p = mta_commit_new(4, err, sizeof(err));
    REQUIRE(p != NULL);
    CHECK(mta_commit_fd(p) >= 0);
    enum { N = 40 };
    static struct mta_commit_job jobs[N];
    static struct queue_envelope envs[N];
    collected = collected_ok = 0;
    for (int i = 0; i < N; i++) {
        envs[i] = env("sender@example.org", 1 + i % 3);
        struct queue_file *f = queue_begin(q, err, sizeof(err));
        REQUIRE(f != NULL);
        CHECK(queue_write(f, "Subject: x\r\n\r\nhello\r\n", 21));
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].qf = f;
        jobs[i].env = &envs[i];
        jobs[i].quarantine = i == 7;
        CHECK(!mta_commit_submit(p, &jobs[i])); /* queued, not done in place */
    }
    CHECK(mta_commit_pending(p) == N);
    mta_commit_drain(p, on_done, NULL);
    CHECK_EQ(collected, N);
    CHECK_EQ(collected_ok, N);
    CHECK_EQ(mta_commit_pending(p), 0);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < i; k++)
            CHECK(strcmp(jobs[i].id, jobs[k].id) != 0);
    listed = 0;
    CHECK_EQ(queue_list(q, count, NULL), N - 1); /* one in quarantine/ */
    /* the queue's directory gone: the commit fails, with the reason */
    struct queue_file *f = queue_begin(q, err, sizeof(err));
    REQUIRE(f != NULL);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/active", dir);
    CHECK(system(cmd) == 0);
    memset(&jobs[0], 0, sizeof(jobs[0]));
    jobs[0].qf = f;
    jobs[0].env = &envs[0];
    collected = collected_ok = 0;
    mta_commit_submit(p, &jobs[0]);
    mta_commit_drain(p, on_done, NULL);
    CHECK_EQ(collected, 1);
    CHECK_EQ(collected_ok, 0);
    CHECK(strstr(jobs[0].err, "cannot commit") != NULL);
    mta_commit_free(p);
    /* no workers: committed in place */
    p = mta_commit_new(0, err, sizeof(err));
    REQUIRE(p != NULL);
    CHECK_EQ(mta_commit_fd(p), -1);
    snprintf(cmd, sizeof(cmd), "mkdir %s/active", dir);
    CHECK(system(cmd) == 0);
    queue_close(q);
    q = queue_open(dir, NULL, err, sizeof(err));
    REQUIRE(q != NULL);
    f = queue_begin(q, err, sizeof(err));
    REQUIRE(f != NULL);
    memset(&jobs[0], 0, sizeof(jobs[0]));
    jobs[0].qf = f;
    jobs[0].env = &envs[0];
    CHECK(mta_commit_submit(p, &jobs[0]));
    CHECK(jobs[0].ok);
    mta_commit_free(p);
    queue_close(q);
}

TEST_LIST_FIXTURE(setup, teardown, test_commit_list_load_remove,
                  test_what_was_committed_survives_sigkill,
                  test_half_finished_commits_and_moves_are_repaired,
                  test_commits_on_workers)
