/* folds.h -- how nightjar-train splits sources for out-of-fold scoring.
 *
 * k-fold by capture: sources are dealt into k folds, those with malicious
 * flows first, in name order, so every fold gets some of each class.
 *
 * Leave-one-family-out: every malicious family is one fold, so its
 * captures are scored by a model that never saw that family -- the
 * question a sensor faces with malware nobody has trained it on. The
 * family is the labels CSV's family column, reduced to a key: any
 * parenthetical removed, blanks collapsed and trimmed, ASCII case-folded,
 * so "Emotet (Jan 2020)" and "Emotet (epoch 4/5, Dec 2021)" are both
 * "emotet". Benign captures have no family: each goes to the fold its
 * name's FNV-1a hash picks (modulo the number of folds), so they are
 * spread over the folds the same way on every run and every one of them
 * is scored out of fold too.
 */
#ifndef NIGHTJAR_TRAIN_FOLDS_H
#define NIGHTJAR_TRAIN_FOLDS_H

#include <stddef.h>
#include <stdint.h>

#include "train/dataset.h"

#define FAMILY_KEY_MAX 128

/* The family key of a family text, into key[keylen]; its length (0 when
 * nothing is left, e.g. for "" or "(x)"). Nested parentheses go whole; an
 * unclosed one runs to the end. */
size_t family_key(const char *family, char *key, size_t keylen);

/* A key as a file name stem: blanks and anything but [a-z0-9_] become
 * '-', runs of them one, none at either end ("ave maria / warzone rat" ->
 * "ave-maria-warzone-rat"); "family" when nothing is left. */
void family_file_stem(const char *key, char *stem, size_t stemlen);

/* The fold of a benign capture among n_folds: FNV-1a of its name. */
int benign_fold(const char *name, int n_folds);

/* k-fold: fold[s] for every source, -1 for test sources. */
void kfold_assign(const struct dataset *ds, int k, int *fold);

/* Leave-one-family-out over the training sources (test sources get -1):
 * fold f holds the captures of family key[f] (keys sorted), benign
 * captures as benign_fold() says. Returns the number of folds with
 * *keys a malloc'd array of that many keys; -1 with err when a malicious
 * capture has no family or there are fewer than two families (a fold's
 * model would have no malicious flows to learn from). */
int lofo_assign(const struct dataset *ds, int *fold,
                char (**keys)[FAMILY_KEY_MAX], char *err, size_t errlen);

#endif
