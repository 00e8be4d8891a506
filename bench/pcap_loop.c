/* pcap_loop.c -- the baseline of the benchmark: a bare libpcap read loop
 * that touches every packet (counts packets and bytes, reads the first and
 * last captured byte) and does nothing else. Whatever nightjar costs above
 * this is the sensor's own work. */
#include <stdio.h>

#include <pcap/pcap.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pcap_loop FILE\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "pcap_loop: %s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long long pkts = 0, bytes = 0, captured = 0, sum = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        pkts++;
        bytes += h->len;
        captured += h->caplen;
        if (h->caplen)
            sum += d[0] + d[h->caplen - 1];
    }
    printf("%llu packets %llu bytes %llu captured (%llu)\n", pkts, bytes,
           captured, sum);
    pcap_close(p);
    return 0;
}
