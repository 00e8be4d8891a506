/* indicators.c -- facts about names, clients and certificates (see
 * indicators.h). */
#include "detect/indicators.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


bool host_is_ip_literal(const char *host)
{
    char buf[80];
    size_t n = strlen(host);
    if (!n || n >= sizeof(buf))
        return false;
    if (host[0] == '[') {                 /* [v6]:port */
        const char *e = strchr(host, ']');
        if (!e)
            return false;
        n = (size_t)(e - host - 1);
        memcpy(buf, host + 1, n);
    } else {
        const char *colon = strchr(host, ':');
        if (colon && !strchr(colon + 1, ':'))
            n = (size_t)(colon - host);   /* v4:port, name:port */
        memcpy(buf, host, n);
    }
    buf[n] = '\0';
    uint8_t a[16];
    return inet_pton(AF_INET, buf, a) == 1 || inet_pton(AF_INET6, buf, a) == 1;
}

/* Zones of the big free dynamic DNS services (each lets anyone create a
 * name under it and repoint it in minutes). */
static const char *const dyndns_zones[] = {
    "duckdns.org", "ddns.net", "no-ip.org", "no-ip.biz", "no-ip.info",
    "no-ip.com", "noip.me", "hopto.org", "zapto.org", "sytes.net",
    "servehttp.com", "serveftp.com", "servebeer.com", "servecounterstrike.com",
    "serveirc.com", "myftp.biz", "myftp.org", "myvnc.com", "redirectme.net",
    "bounceme.net", "gotdns.ch", "ddnsking.com", "3utilities.com", "viewdns.net",
    "webhop.me", "webhop.net", "ydns.eu", "con-ip.com", "dyndns.org",
    "dyndns.info", "dynu.net", "dynu.com", "freeddns.org", "mooo.com",
    "chickenkiller.com", "afraid.org", "duckdns.com", "linkpc.net",
    "publicvm.com", "dnsalias.com", "dnsalias.net", "homeip.net",
    "dynalias.com", "strangled.net", "ooguy.com", "myddns.me", "casacam.net",
    "freedynamicdns.org", "freedynamicdns.net", "portmap.io", "portmap.host",
    "ddns.me", "dns-dynamic.net", "kozow.com", "loseyourip.com", "ddnsfree.com",
    "accesscam.org", "camdvr.org", "hicam.net", "damnserver.com", "giize.com",
    "gleeze.com", "ngrok.io", "ngrok-free.app", "serveo.net",
};

bool name_is_dynamic_dns(const char *name)
{
    size_t n = strlen(name);
    while (n && name[n - 1] == '.')
        n--;
    for (size_t i = 0; i < sizeof(dyndns_zones) / sizeof(dyndns_zones[0]); i++) {
        size_t z = strlen(dyndns_zones[i]);
        if (n > z && name[n - z - 1] == '.' &&
            strncasecmp(name + n - z, dyndns_zones[i], z) == 0)
            return true;
    }
    return false;
}

bool label_looks_random(const char *label, unsigned n)
{
    if (n < 8 || n > 63)
        return false;
    unsigned count[256] = { 0 }, vowels = 0, digits = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tolower((unsigned char)label[i]);
        count[c]++;
        vowels += c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
        digits += isdigit(c) != 0;
    }
    double h = 0;
    for (int i = 0; i < 256; i++)
        if (count[i]) {
            double p = (double)count[i] / n;
            h -= p * log2(p);
        }
    return h >= 3.0 && (vowels * 5 < n || digits * 4 >= n);
}

/* ---- User-Agents ----------------------------------------------------- */

static const char *const system_agents[] = {
    "Microsoft-CryptoAPI", "Windows-Update-Agent", "Microsoft BITS",
    "Microsoft NCSI", "Microsoft-Delivery-Optimization", "MSDW",
    "Microsoft-WNS", "WinHttp-Autoproxy-Service", "Microsoft Office",
    "CaptiveNetworkSupport", "ocspd", "trustd", "Debian APT", "apt-http",
    "Ubuntu APT", "Windows-Media-Player", "NSPlayer", "Microsoft-Windows",
    "Microsoft SkyDriveSync", "OneDrive", "Windows Defender", "MpCommunication",
    "Google Update", "GoogleUpdate",
};

static const char *const tool_agents[] = {
    "curl/", "Wget/", "python-requests", "Python-urllib", "python-httpx",
    "aiohttp", "Go-http-client", "Java/", "okhttp", "WindowsPowerShell",
    "WinHTTP", "WinHttp", "libwww-perl", "lwp-", "PycURL", "Ruby",
    "Apache-HttpClient", "axios/", "node-fetch", "AutoIt", "Indy Library",
    "Microsoft URL Control", "Embarcadero URI Client", "Borland", "HTTPie",
    "JNLP/", "javaws", "certutil", "BITSAdmin",
    /* Windows PowerShell's web cmdlets: "Mozilla/5.0 (Windows NT; Windows NT
     * 10.0; en-US) WindowsPowerShell/5.1", and the same platform prefix
     * before its browser presets (-UserAgent [PSUserAgent]::Chrome) */
    "Mozilla/5.0 (Windows NT; Windows NT",
};

static bool has(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(s, list[i]))
            return true;
    return false;
}

/* "Firefox/12.0" -> 12; -1 when the token is absent. */
static int version_after(const char *ua, const char *token)
{
    const char *p = strstr(ua, token);
    return p ? atoi(p + strlen(token)) : -1;
}

enum ua_class ua_classify(const char *ua)
{
    while (*ua == ' ')
        ua++;
    if (!*ua)
        return UA_NONE;
    if (has(ua, system_agents, sizeof(system_agents) / sizeof(system_agents[0])))
        return UA_SYSTEM;
    if (has(ua, tool_agents, sizeof(tool_agents) / sizeof(tool_agents[0])))
        return UA_TOOL;
    int msie = version_after(ua, "MSIE ");
    int ff = version_after(ua, "Firefox/");
    int chrome = version_after(ua, "Chrome/");
    if ((msie >= 0 && msie <= 8) || (ff >= 0 && ff < 20) ||
        (chrome >= 0 && chrome < 30) ||
        (strncmp(ua, "Mozilla/4.", 10) == 0 && !strstr(ua, "compatible; MSIE 9") &&
         !strstr(ua, "compatible; MSIE 1")))
        return UA_LEGACY;
    if (strncmp(ua, "Mozilla/5.0", 11) == 0 || strncmp(ua, "Opera/", 6) == 0 ||
        msie >= 9)
        return UA_BROWSER;
    return UA_OTHER;
}

const char *ua_class_name(enum ua_class c)
{
    static const char *const n[] = { "none", "browser", "legacy browser",
                                     "tool", "system", "application" };
    return c <= UA_OTHER ? n[c] : "?";
}

/* ---- URIs ------------------------------------------------------------ */

static bool encoded_token(const char *t, size_t n)
{
    if (n < 16)
        return false;
    unsigned up = 0, lo = 0, dig = 0, hexl = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        up += isupper(c) != 0;
        lo += islower(c) != 0;
        dig += isdigit(c) != 0;
        hexl += (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        other += !isalnum(c) && c != '+' && c != '-' && c != '_' && c != '%';
    }
    if (other)
        return false;
    if (up >= 2 && lo >= 2 && dig >= 2)
        return true;                      /* base64 */
    return n >= 24 && dig >= 4 && dig + hexl == n && hexl >= 4; /* hex id */
}

bool uri_has_encoded_blob(const char *uri)
{
    const char *p = uri;
    while (*p) {
        size_t n = strcspn(p, "/?&=;.,:");
        if (encoded_token(p, n))
            return true;
        p += n;
        if (*p)
            p++;
    }
    return false;
}

bool uri_is_script(const char *uri)
{
    static const char *const ext[] = { ".php", ".asp", ".aspx", ".jsp", ".cgi",
                                       ".pl", ".py", ".do" };
    size_t n = strcspn(uri, "?#");
    if (n == 0 || uri[n - 1] == '/')
        return true;
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strncasecmp(uri + n - e, ext[i], e) == 0)
            return true;
    }
    return false;
}

/* ---- certificates ---------------------------------------------------- */

/* Field values tools put in when nobody fills the form in: OpenSSL's
 * req defaults, Go's and Java keytool's examples, "localhost". Matched as
 * whole values of a field, so "O=Acme Corp" is not "O=Acme Co". */
static const char *const placeholder_value[] = {
    "Internet Widgits Pty Ltd", "Default Company Ltd", "Some-State",
    "Default City", "localhost", "localhost.localdomain", "My Company",
    "Acme Co", "XX", "Unspecified", "Company Name", "Example", "none",
    "Unknown", "Test", "test", "Your Company", "MyCompany", "Organization",
};

bool cert_subject_placeholder(const char *dn)
{
    if (!dn || !*dn)
        return false;
    const char *p = dn;
    while (*p) {
        const char *eq = strchr(p, '=');
        if (!eq)
            break;
        const char *v = eq + 1;
        size_t n = strcspn(v, ",");
        for (size_t i = 0; i < sizeof(placeholder_value) / sizeof(placeholder_value[0]); i++)
            if (strlen(placeholder_value[i]) == n && !strncmp(v, placeholder_value[i], n))
                return true;
        p = v + n;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return false;
}

bool cert_subject_not_hostname(const char *dn)
{
    if (!dn || !*dn)
        return false;
    const char *cn = strstr(dn, "CN=");
    if (!cn)
        return true;                      /* only O/OU/C: names no host */
    cn += 3;
    size_t n = strcspn(cn, ",/");
    if (!n)
        return true;
    char buf[128];
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, cn, n);
    buf[n] = '\0';
    if (host_is_ip_literal(buf))
        return false;
    return memchr(buf, '.', n) == NULL;
}

/* ---- ports ----------------------------------------------------------- */

static const uint16_t common_tcp[] = {
    20, 21, 22, 23, 25, 43, 53, 80, 88, 110, 111, 113, 119, 135, 139, 143,
    179, 389, 443, 445, 464, 465, 497, 514, 515, 548, 554, 563, 587, 593, 631,
    636, 873, 853, 902, 989, 990, 992, 993, 994, 995, 1080, 1194, 1433, 1434,
    1521, 1723, 1883, 1935, 2049, 2082, 2083, 2086, 2087, 2095, 2096, 2181,
    2222, 2375, 2376, 3128, 3268, 3269, 3306, 3389, 3478, 3690, 4070, 4443,
    5000, 5001, 5060, 5061, 5222, 5223, 5228, 5269, 5349, 5432, 5671, 5672,
    5900, 5938, 5985, 5986, 6379, 6443, 6667, 6697, 7680, 8000, 8008, 8009,
    8080, 8081, 8088, 8443, 8883, 8888, 9000, 9090, 9092, 9200, 9418, 9443,
    11211, 27017,
};

/* industrial control: Modbus, S7, DNP3, EtherNet/IP, OPC UA, IEC 104,
 * Niagara Fox, BACnet, Red Lion, PCWorx, ProConOS */
static const uint16_t industrial[] = {
    502, 102, 20000, 44818, 4840, 2404, 1911, 4911, 789, 1962, 20547, 47808,
};

static const uint16_t common_udp[] = {
    53, 67, 68, 69, 88, 123, 137, 138, 161, 162, 389, 443, 500, 514, 520,
    1194, 1812, 1813, 1900, 3478, 3479, 3480, 3481, 4500, 5004, 5060, 5353,
    5355, 8801, 19302, 51820, 2222,
};

static const uint16_t tls_ports[] = {
    443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 1433, 3269, 3306,
    3389, 5061, 5223, 5432, 5986, 6697, 8443, 8883, 9443, 25, 110, 143, 389,
    587, 5222, 5269, 21, 4443, 6443, 2083, 2087, 2096, 5349, 8883,
};

static bool in(const uint16_t *list, size_t n, uint16_t port)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == port)
            return true;
    return false;
}

bool port_is_common_service(uint8_t proto, uint16_t port)
{
    if (proto == 17)
        return in(common_udp, sizeof(common_udp) / sizeof(common_udp[0]), port);
    return in(common_tcp, sizeof(common_tcp) / sizeof(common_tcp[0]), port);
}

bool port_is_industrial(uint16_t port)
{
    return in(industrial, sizeof(industrial) / sizeof(industrial[0]), port);
}

bool port_is_tls_service(uint16_t port)
{
    return in(tls_ports, sizeof(tls_ports) / sizeof(tls_ports[0]), port);
}
