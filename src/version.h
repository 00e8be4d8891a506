/* version.h -- the one place the version lives. */
#ifndef NIGHTJAR_VERSION_H
#define NIGHTJAR_VERSION_H
#define NIGHTJAR_VERSION "0.1.0"
#endif
