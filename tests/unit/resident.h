/* resident.h -- this process's resident set, for the tests that hold a
 * sparse table or a mapped file to the pages it really uses. Under
 * AddressSanitizer (TESTS_UNDER_ASAN) the tables are calloc'd and shadow
 * memory moves with them: those checks hold in the plain build only. */
#ifndef NIGHTJAR_TEST_RESIDENT_H
#define NIGHTJAR_TEST_RESIDENT_H

#include <stdio.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TESTS_UNDER_ASAN 1
#else
#define TESTS_UNDER_ASAN 0
#endif

/* Resident kilobytes (/proc/self/statm's second field), 0 if unreadable. */
static inline long resident_kb(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
