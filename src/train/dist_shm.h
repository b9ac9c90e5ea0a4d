/* train/dist_shm: the gradient exchange of ranks that all share one host, through memory they share.
 *
 * Open MPI's non-blocking allreduce copies every bucket into a scratch block, moves it to the other rank
 * through the kernel (process_vm_readv) and adds it there, and then every rank steps all the weights of its
 * own copy: on 2 ranks of vgg16-nopool a third of each rank's time went into that. Here every rank's
 * gradient block lives in one MPI shared-memory window, and the ranks keep one copy of the weights and the
 * optimiser's state in another. After the backward pass (the metric-sum allreduce tells that every rank is
 * there) rank r adds up part r of all gradient blocks, in rank order, steps part r of the weights from the
 * sums while they are in cache, and zeroes part r of the blocks; a barrier later every rank has the step.
 * Only for float32 gradients and only when every rank is on this host; VGGTOP_DIST_SHM=0 turns it off. */
#ifndef VGGTOP_TRAIN_DIST_SHM_H
#define VGGTOP_TRAIN_DIST_SHM_H

#include <mpi.h>
#include <stddef.h>

#include "vggtop/nn.h"

typedef struct dist_shm dist_shm;

/* Collective over comm (every rank of which is on this host): a window of the model's parameter count per
 * rank, the model's gradient block moved into this rank's part; the weights, velocity and second moment (if
 * the model has one yet: make it first) moved into rank 0's part of a second window. *out is NULL (and nothing changed) when any
 * rank could not make its part (a /dev/shm too small for it, say): the caller then uses MPI's allreduce. */
void dist_shm_open(MPI_Comm comm, model *m, dist_shm **out);
/* Collective: the window freed. A model still using it must be destroyed (or never stepped) after this. */
void dist_shm_close(dist_shm *s);
/* Whether m's gradient block is this rank's part of s. */
int dist_shm_holds(const dist_shm *s, model *m);
/* Makes this rank's writes to the window visible to the others and theirs to it (around a barrier). */
void dist_shm_sync(dist_shm *s);
/* This rank's part of the step t (from 1): its part of every rank's block added up in rank order, the
 * weights and state of that part stepped from the sums (model_apply_part), the blocks' part zeroed. */
void dist_shm_reduce_step(dist_shm *s, model *m, const sgd_config *sgd, long long t);

#endif
