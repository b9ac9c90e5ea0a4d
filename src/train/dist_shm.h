/* train/dist_shm: the gradient exchange of ranks that all share one host, through memory they share.
 *
 * Open MPI's non-blocking allreduce copies every bucket into a scratch block, moves it to the other rank
 * through the kernel (process_vm_readv) and adds it there: on 2 ranks of vgg16-nopool about a fifth of each
 * rank's CPU went into that. Here every rank's gradient block lives in one MPI shared-memory window; after
 * the backward pass (the metric-sum allreduce tells that every rank is there) rank r adds up part r of all
 * blocks, in rank order, and writes the sum into every block; a barrier later each rank steps from its own
 * block. Each float is read once and written once per rank, and every rank gets bit-identical sums.
 * Only for float32 gradients and only when every rank is on this host; VGGTOP_DIST_SHM=0 turns it off. */
#ifndef VGGTOP_TRAIN_DIST_SHM_H
#define VGGTOP_TRAIN_DIST_SHM_H

#include <mpi.h>
#include <stddef.h>

#include "vggtop/nn.h"

typedef struct dist_shm dist_shm;

/* Collective over comm (every rank of which is on this host): a window of the model's parameter count per
 * rank, the model's gradient block moved into this rank's part. *out is NULL (and nothing changed) when any
 * rank could not make its part (a /dev/shm too small for it, say): the caller then uses MPI's allreduce. */
void dist_shm_open(MPI_Comm comm, model *m, dist_shm **out);
/* Collective: the window freed. A model still using it must be destroyed (or never stepped) after this. */
void dist_shm_close(dist_shm *s);
/* Whether m's gradient block is this rank's part of s. */
int dist_shm_holds(const dist_shm *s, model *m);
/* Makes this rank's writes to the window visible to the others and theirs to it (around a barrier). */
void dist_shm_sync(dist_shm *s);
/* This rank's part of the parameters: every rank's block added up, in rank order, into every block. */
void dist_shm_reduce(dist_shm *s);

#endif
