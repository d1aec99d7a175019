// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * triage-gpud: the GPU daemon. It owns one CUDA context (the primary
 * context of --device), loads the elastic kernels once, and runs the GPU
 * stages of every connected DNN process through the coordinator
 * (cuda/coord.h, serving), so that critical and best-effort kernels of
 * different processes share the SMs the way Miriam's coordinator shares
 * them within one: kernels of different contexts would only time-slice.
 *
 * Protocol: include/triage/gpud.h. One thread, one loop: while any
 * request is queued or in flight it turns without sleeping (the
 * coordinator polls events, as Miriam's does) and looks at its sockets
 * every millisecond; otherwise it sleeps in epoll until a client kicks
 * its eventfd, connects or hangs up, or a signal comes.
 *
 * A client reaches only its own sealed file. Whatever a client sends
 * that is wrong (sizes, a model gpud cannot find, a stage that is no
 * stage, a file that is not sealed) gets an error reply naming it and
 * the connection closed; the daemon runs on. A GPU failure is fatal (the
 * context is unusable after one): gpud exits 1 and its clients run their
 * stages on the CPU until it is back.
 *
 * Exit codes: 0 stopped by a signal, 1 failed, 2 bad usage, 3 no GPU
 * here (the systemd unit does not restart it then).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "coord.h"
#include "gpu_profile.h"
#include "gpud_stats.h"
#include "fsutil.h"
#include "log.h"
#include "numparse.h"
#include "zoo.h"

#include <triage/gpu.h>
#include <triage/gpud.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_NO_GPU 3

#define MAX_CONNS 32
/* While busy, the sockets are looked at this often. */
#define BUSY_EPOLL_NS 1000000ull
/* Idle, the loop wakes this often anyway (the GPU shares may change). */
#define IDLE_WAIT_MS 100
#define DEFAULT_GROUP "video" /* Jetson's group of the GPU devices */

struct options {
	int device;
	const char *run_dir, *group, *models_dir, *output;
	enum coord_policy policy;
	bool quiet, verbose, profile;
	int zero_copy; /* -1 auto, 0 off, 1 on */
};

/* The weights of one (model, seed, stage), made once and shared by the
 * stages of every client that runs it. */
struct weights {
	char model[TRIAGE_GPUD_MODEL_MAX];
	uint64_t seed;
	int first, last;
	int refs;
	struct gpu_dnn dnn; /* weights only: gpu_dnn_build_weights() */
};

struct conn {
	int fd, kick, id; /* id: the coordinator's, 0 before the hello */
	pid_t pid;
	uid_t uid;
	struct triage_gpud_hello h;
	struct triage_gpud_shm *shm;
	size_t size;
	bool registered, in_flight;
	bool zero_copy;		       /* outputs written straight into its file */
	uint64_t bytes_out_per_request; /* what is copied back per request */
	uint32_t seen; /* the client's req last taken */
	double kicked; /* when the request in flight was seen */
	struct gpu_dnn dnn;   /* its tensors and kernels, on w's weights */
	struct weights *w;
	struct triage_gpud_stage_stats stats; /* what gpud-stats says of it */
	uint64_t requests;
};

struct gpud {
	struct options o;
	struct gpu_device g;
	struct coord_serve *cs;
	int epoll_fd, listen_fd, signal_fd;
	char sock_path[108], pid_path[4096];
	struct conn *conns[MAX_CONNS];
	struct weights *weights[MAX_CONNS];
	uint32_t next_session;
	struct shm_file stats;
	bool zero_copy; /* --zero-copy, resolved for this GPU */
	uint64_t stats_published_ns;
	bool stats_dirty; /* a stage came or went: publish now */
};

/* epoll data: the listening socket and the signals have fixed tags, a
 * connection its index; its kick eventfd the index + MAX_CONNS. */
enum { TAG_LISTEN = 2 * MAX_CONNS, TAG_SIGNAL };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: triage-gpud [--device N] [--policy elastic|priority|multistream]\n"
		"                   [--run-dir DIR] [--group NAME] [--models DIR] [-q|-v]\n"
		"       triage-gpud --profile [--output FILE] [--device N] [--models DIR] [-v]\n"
		"\n"
		"Runs the GPU stages of DNN processes (triage-run --stages ...@gpu, or the\n"
		"agent's plans) in one CUDA context with elastic kernels (docs/gpud.md).\n"
		"\n"
		"  --device N      the CUDA device (default 0)\n"
		"  --policy P      elastic (default: best-effort kernels sliced around the\n"
		"                  critical ones), priority (stream priorities only) or\n"
		"                  multistream (neither)\n"
		"  --run-dir DIR   where the socket goes (default $TRIAGE_RUN_DIR or /run/triage)\n"
		"  --group NAME    the socket's group, mode 0660 (default video where it\n"
		"                  exists; else the socket is 0666)\n"
		"  --models DIR    the model zoo (default $TRIAGE_MODELS or models/zoo)\n"
		"  --zero-copy M   auto (default: on for an integrated GPU that maps host\n"
		"                  memory), on or off: stages write their outputs straight\n"
		"                  into the client's file instead of copying them back\n"
		"  --profile       measure the GPU for the planner, write it into the platform\n"
		"                  profile and exit (docs/gpud.md)\n"
		"  --output FILE   with --profile: the profile (default <platforms dir>/host.json)\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option long_opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "group", required_argument, NULL, 'g' },
		{ "models", required_argument, NULL, 'm' },
		{ "profile", no_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "zero-copy", required_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, p;

	*o = (struct options){ .policy = COORD_ELASTIC, .zero_copy = -1 };
	while ((c = getopt_long(argc, argv, "d:p:r:g:m:o:qvh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'd': o->device = (int)opt_u64("--device", optarg, 0, 64); break;
		case 'r': o->run_dir = optarg; break;
		case 'g': o->group = optarg; break;
		case 'm': o->models_dir = optarg; break;
		case 'P': o->profile = true; break;
		case 'o': o->output = optarg; break;
		case 'z':
			if (!strcmp(optarg, "auto") || !strcmp(optarg, "on") || !strcmp(optarg, "off")) {
				o->zero_copy = !strcmp(optarg, "auto") ? -1 : !strcmp(optarg, "on");
				break;
			}
			fprintf(stderr, "triage-gpud: --zero-copy \"%s\": auto, on or off\n", optarg);
			return -1;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case 'p':
			p = coord_policy_parse(optarg);
			if (p != COORD_ELASTIC && p != COORD_PRIORITY && p != COORD_MULTISTREAM) {
				fprintf(stderr,
					"triage-gpud: --policy \"%s\": elastic, priority or multistream\n",
					optarg);
				return -1;
			}
			o->policy = p;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "triage-gpud: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (o->output && !o->profile) {
		fprintf(stderr, "triage-gpud: --output goes with --profile\n");
		return -1;
	}
	o->run_dir = run_dir_resolve(o->run_dir);
	if (!o->models_dir)
		o->models_dir = zoo_default_dir();
	return 0;
}

/* ---- the socket ------------------------------------------------------------------ */

/* Whether some process listens on path: a second gpud must not take
 * over the socket of a running one. */
static bool someone_listens(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool yes;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	yes = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return yes;
}

static int open_socket(struct gpud *d)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *group = d->o.group ? d->o.group : DEFAULT_GROUP;
	struct group *gr = getgrnam(group);
	mode_t mode = gr ? 0660 : 0666;
	int n = snprintf(d->sock_path, sizeof(d->sock_path), "%s/%s", d->o.run_dir,
			 TRIAGE_GPUD_SOCKET);

	if (n < 0 || (size_t)n >= sizeof(d->sock_path)) {
		log_err("socket path too long under %s", d->o.run_dir);
		return -1;
	}
	if (d->o.group && !gr) {
		log_err("--group %s: no such group", d->o.group);
		return -1;
	}
	if (mkdir(d->o.run_dir, 0755) && errno != EEXIST) {
		log_err("mkdir %s: %s", d->o.run_dir, strerror(errno));
		return -1;
	}
	if (someone_listens(d->sock_path)) {
		log_err("another triage-gpud listens on %s", d->sock_path);
		return -1;
	}
	unlink(d->sock_path); /* a socket left by a gpud that was killed */
	memcpy(a.sun_path, d->sock_path, (size_t)n + 1);
	d->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->listen_fd < 0 || bind(d->listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    chmod(d->sock_path, mode) || (gr && chown(d->sock_path, (uid_t)-1, gr->gr_gid)) ||
	    listen(d->listen_fd, 16)) {
		log_err("socket %s: %s", d->sock_path, strerror(errno));
		return -1;
	}
	if (!gr)
		log_info("no group %s: %s is 0666 (any local user may run GPU stages)",
			 group, d->sock_path);
	return 0;
}

static int write_pid_file(struct gpud *d)
{
	char pid[32];
	int ret;

	snprintf(d->pid_path, sizeof(d->pid_path), "%s/gpud.pid", d->o.run_dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	ret = write_file_atomic(d->o.run_dir, "gpud.pid", pid);
	if (ret)
		log_err("%s: %s", d->pid_path, strerror(-ret));
	return ret;
}

/* ---- connections -------------------------------------------------------------------- */

static void reply(struct conn *c, int status, uint32_t session, const char *gpu, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));

static void reply(struct conn *c, int status, uint32_t session, const char *gpu, const char *fmt,
		  ...)
{
	struct triage_gpud_reply r = { .magic = TRIAGE_GPUD_MAGIC,
				       .abi_version = TRIAGE_GPUD_ABI,
				       .status = status,
				       .session = session };
	va_list ap;

	snprintf(r.gpu, sizeof(r.gpu), "%s", gpu);
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(r.error, sizeof(r.error), fmt, ap);
		va_end(ap);
	}
	if (send(c->fd, &r, sizeof(r), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(r))
		log_debug("pid %d: reply not sent: %s", (int)c->pid, strerror(errno));
}

/* The weights of the hello's stage: those made for another client of the
 * same model, seed and layers, or new ones. */
static struct weights *weights_get(struct gpud *d, const struct triage_gpud_hello *h,
				   const struct dnn_model *m, char *why, size_t len)
{
	int free_slot = -1;
	struct weights *w;

	for (int k = 0; k < MAX_CONNS; k++) {
		w = d->weights[k];
		if (!w) {
			if (free_slot < 0)
				free_slot = k;
			continue;
		}
		if (!strcmp(w->model, h->model) && w->seed == h->seed && w->first == h->first &&
		    w->last == h->last) {
			w->refs++;
			return w;
		}
	}
	w = free_slot >= 0 ? calloc(1, sizeof(*w)) : NULL;
	if (!w) {
		snprintf(why, len, "out of memory for the weights of %s", h->model);
		return NULL;
	}
	if (gpu_dnn_build_weights(&d->g, m, h->seed, h->first, h->last, &w->dnn, why, len)) {
		free(w);
		return NULL;
	}
	snprintf(w->model, sizeof(w->model), "%s", h->model);
	w->seed = h->seed;
	w->first = h->first;
	w->last = h->last;
	w->refs = 1;
	d->weights[free_slot] = w;
	return w;
}

static void weights_put(struct gpud *d, struct weights *w)
{
	if (!w || --w->refs)
		return;
	for (int k = 0; k < MAX_CONNS; k++)
		if (d->weights[k] == w)
			d->weights[k] = NULL;
	gpu_dnn_free(&w->dnn);
	free(w);
}

static void conn_free(struct gpud *d, int i)
{
	struct conn *c = d->conns[i];

	if (!c)
		return;
	if (c->id)
		coord_serve_remove(d->cs, c->id); /* waits for its stream */
	/* The client holds the same eventfd: closing ours would leave it
	 * in the epoll set. */
	if (c->kick >= 0)
		epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, c->kick, NULL);
	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->registered)
		cu.MemHostUnregister(c->shm);
	gpu_dnn_free(&c->dnn);
	weights_put(d, c->w);
	if (c->shm)
		munmap(c->shm, c->size);
	if (c->kick >= 0)
		close(c->kick);
	close(c->fd);
	if (c->id && !d->o.quiet)
		log_info("pid %d: %s layers %d-%d gone after %llu requests",
			 (int)c->pid, c->h.model, c->h.first, c->h.last,
			 (unsigned long long)c->requests);
	d->stats_dirty |= c->id != 0;
	free(c);
	d->conns[i] = NULL;
}

static void accept_conns(struct gpud *d)
{
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), i;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct conn *c;

		if (fd < 0)
			return;
		for (i = 0; i < MAX_CONNS && d->conns[i]; i++)
			;
		c = i < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			struct conn tmp = { .fd = fd };

			reply(&tmp, -EBUSY, 0, d->g.name, "%d connections open already, the most gpud takes",
			      MAX_CONNS);
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->kick = -1;
		c->pid = cred.pid;
		c->uid = cred.uid;
		d->conns[i] = c;
		epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd,
			  &(struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP, .data.u32 = i });
	}
}

static size_t tensor_floats(const struct dnn_model *m, int t)
{
	const int *s = dnn_tensor_shape(m, t);

	return (size_t)s[0] * s[1] * s[2] * s[3];
}

/* What a stage first..last of m must say in its hello: the sizes and the
 * model outputs among its layers, at their offsets in the output. */
static int check_stage(const struct dnn_model *m, const struct triage_gpud_hello *h, char *why,
		       size_t len)
{
	int n = m->nr_layers, nr = 0;
	size_t off = 0, cut;

	if (h->first < 0 || h->last >= n || h->first > h->last) {
		snprintf(why, len, "%s: layers %d-%d out of range 0-%d", m->name, h->first, h->last,
			 n - 1);
		return -ERANGE;
	}
	if ((h->first && !m->layers[h->first - 1].cut_after) ||
	    (h->last != n - 1 && !m->layers[h->last].cut_after)) {
		snprintf(why, len, "%s: layers %d-%d are no stage: it must start after and end on a cut point",
			 m->name, h->first, h->last);
		return -EINVAL;
	}
	cut = h->last == n - 1 ? 0 : tensor_floats(m, h->last);
	if (h->in_floats != tensor_floats(m, h->first ? h->first - 1 : DNN_INPUT) ||
	    h->cut_floats != cut) {
		snprintf(why, len, "%s: layers %d-%d take %zu floats in and hand %zu on, the hello says %llu and %llu",
			 m->name, h->first, h->last,
			 tensor_floats(m, h->first ? h->first - 1 : DNN_INPUT), cut,
			 (unsigned long long)h->in_floats, (unsigned long long)h->cut_floats);
		return -EINVAL;
	}
	for (int k = 0; k < m->nr_outputs; k++) {
		int t = m->outputs[k];
		size_t f = tensor_floats(m, t);

		if (t >= h->first && t <= h->last) {
			if (nr >= (int)h->nr_spans || h->spans[nr].offset != off ||
			    h->spans[nr].floats != f) {
				snprintf(why, len, "%s: output %d (layer %d) is at %zu, %zu floats; the hello's spans disagree",
					 m->name, k, t, off, f);
				return -EINVAL;
			}
			nr++;
		}
		off += f;
	}
	if (nr != (int)h->nr_spans || h->out_floats != off) {
		snprintf(why, len, "%s: %d outputs among layers %d-%d of %zu floats in all; the hello says %u of %llu",
			 m->name, nr, h->first, h->last, off, h->nr_spans,
			 (unsigned long long)h->out_floats);
		return -EINVAL;
	}
	return 0;
}

/* The client's file: sealed, of the size its regions need. */
static int map_file(struct conn *c, int memfd, char *why, size_t len)
{
	const struct triage_gpud_hello *h = &c->h;
	struct triage_gpud_shm head;
	int seals = fcntl(memfd, F_GET_SEALS);
	struct stat st;

	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
		snprintf(why, len, "the stage's file is not sealed against shrinking and growing (a memfd with F_SEAL_SHRINK and F_SEAL_GROW)");
		return -EPERM;
	}
	if (fstat(memfd, &st) || (size_t)st.st_size < sizeof(head)) {
		snprintf(why, len, "the stage's file holds %lld bytes, less than its head",
			 (long long)st.st_size);
		return -EINVAL;
	}
	c->size = (size_t)st.st_size;
	c->shm = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (c->shm == MAP_FAILED) {
		c->shm = NULL;
		snprintf(why, len, "mapping the stage's file: %s", strerror(errno));
		return -errno;
	}
	memcpy(&head, c->shm, sizeof(head));
	if (head.magic != TRIAGE_GPUD_MAGIC || head.abi_version != TRIAGE_GPUD_ABI ||
	    head.size != c->size || head.in_off % TRIAGE_GPUD_ALIGN ||
	    head.cut_off % TRIAGE_GPUD_ALIGN || head.out_off % TRIAGE_GPUD_ALIGN ||
	    head.in_off < sizeof(head) ||
	    head.cut_off < head.in_off + h->in_floats * sizeof(float) ||
	    head.out_off < head.cut_off + h->cut_floats * sizeof(float) ||
	    head.out_off + h->out_floats * sizeof(float) > c->size) {
		snprintf(why, len, "the stage's file (%zu bytes) has a bad head or regions that do not fit",
			 c->size);
		return -EINVAL;
	}
	c->seen = head.req;
	return 0;
}

static char *at(const struct conn *c, uint64_t off)
{
	return (char *)c->shm + off;
}

/* Zero copy (integrated GPUs): the stage writes its cut tensor and its
 * model outputs straight into the client's file, mapped into the GPU,
 * so nothing is copied back. Its input is still copied in once: before
 * Thor, registered host memory is uncached on the GPU's side, and the
 * first layers read each input element many times. Returns whether the
 * file is mapped so, with *base its device address. */
static bool map_for_zero_copy(struct gpud *d, struct conn *c, CUdeviceptr *base)
{
	if (!d->zero_copy)
		return false;
	if (cu.MemHostRegister(c->shm, c->size, CU_MEMHOSTREGISTER_DEVICEMAP) != CUDA_SUCCESS)
		return false;
	c->registered = true;
	if (cu.MemHostGetDevicePointer(base, c->shm, 0) != CUDA_SUCCESS) {
		log_debug("pid %d: its file would not map into the GPU: copies", (int)c->pid);
		return false;
	}
	return true;
}

static int add_stage(struct gpud *d, struct conn *c, const struct dnn_model *m, char *why,
		     size_t len)
{
	const struct triage_gpud_hello *h = &c->h;
	struct triage_gpud_shm *s = c->shm;
	struct coord_stage st = {
		.dnn = &c->dnn,
		.level = h->level == TRIAGE_GPUD_CRITICAL ? COORD_CRITICAL : COORD_BEST_EFFORT,
		.name = h->name,
		.share = 1.0,
		.nr_in = 1,
	};
	struct gpu_dnn_place place = { 0 };
	CUdeviceptr base = 0;
	int ret;

	c->w = weights_get(d, h, m, why, len);
	if (!c->w)
		return -ENOMEM;
	c->zero_copy = map_for_zero_copy(d, c, &base);
	/* Pinned, the copies are DMA on the stream; where the driver will
	 * not pin the mapping they still work, staged through the driver. */
	if (!c->registered)
		c->registered = cu.MemHostRegister(s, c->size, 0) == CUDA_SUCCESS;
	if (c->zero_copy) {
		if (h->cut_floats) {
			place.layer[place.nr] = h->last;
			place.at[place.nr++] = base + s->cut_off;
		}
		for (int k = 0, span = 0; k < m->nr_outputs; k++) {
			int t = m->outputs[k];

			if (t < h->first || t > h->last)
				continue;
			/* A cut that is a model output too is placed once, at
			 * the cut, and copied to its span. */
			if (!(h->cut_floats && t == h->last)) {
				place.layer[place.nr] = t;
				place.at[place.nr++] = base + s->out_off +
						       h->spans[span].offset * sizeof(float);
			}
			span++;
		}
	}
	ret = gpu_dnn_build_sharing(&d->g, &c->w->dnn, &place, &c->dnn, why, len);
	if (ret)
		return ret;
	st.in[0] = (struct coord_copy){ gpu_dnn_stage_input(&c->dnn), at(c, s->in_off),
					h->in_floats * sizeof(float) };
	if (h->cut_floats && !c->zero_copy)
		st.out[st.nr_out++] = (struct coord_copy){ c->dnn.outputs[h->last], at(c, s->cut_off),
							   h->cut_floats * sizeof(float) };
	for (int k = 0, span = 0; k < m->nr_outputs; k++) {
		int t = m->outputs[k];

		if (t < h->first || t > h->last)
			continue;
		if (!c->zero_copy || (h->cut_floats && t == h->last))
			st.out[st.nr_out++] = (struct coord_copy){
				c->dnn.outputs[t],
				at(c, s->out_off) + h->spans[span].offset * sizeof(float),
				h->spans[span].floats * sizeof(float)
			};
		span++;
	}
	for (int k = 0; k < st.nr_out; k++)
		c->bytes_out_per_request += st.out[k].bytes;
	return coord_serve_add(d->cs, &st, &c->id, why, len);
}

/* The hello: checked, the file mapped, the stage built and served. */
static void take_hello(struct gpud *d, int i)
{
	struct conn *c = d->conns[i];
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { &c->h, sizeof(c->h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	int fds[2] = { -1, -1 }, ret = -EINVAL;
	struct dnn_model *m = NULL;
	struct cmsghdr *cm;
	char why[TRIAGE_GPUD_ERROR_MAX] = "";
	ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);

	if (n <= 0) {
		conn_free(d, i); /* hung up before saying anything */
		return;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(fds)))
			memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	c->kick = fds[1];
	if (n >= 8 && (c->h.magic != TRIAGE_GPUD_MAGIC || c->h.abi_version != TRIAGE_GPUD_ABI)) {
		ret = -EPROTO;
		snprintf(why, sizeof(why), "a hello of ABI %u (magic %#x); this gpud speaks %d",
			 c->h.abi_version, c->h.magic, TRIAGE_GPUD_ABI);
	} else if (n != (ssize_t)sizeof(c->h) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		snprintf(why, sizeof(why), "a hello of %zd bytes, expected %zu", n, sizeof(c->h));
	} else if (fds[0] < 0 || fds[1] < 0) {
		snprintf(why, sizeof(why), "the hello came without its file and eventfd");
	} else if (!memchr(c->h.model, '\0', sizeof(c->h.model)) ||
		   !memchr(c->h.name, '\0', sizeof(c->h.name)) || !c->h.name[0]) {
		snprintf(why, sizeof(why), "model or workload name not a NUL-terminated string");
	} else if (c->h.level > TRIAGE_GPUD_BEST_EFFORT || c->h.nr_spans > TRIAGE_GPUD_MAX_SPANS) {
		snprintf(why, sizeof(why), "level %u (0 critical, 1 best-effort) or %u spans (at most %d)",
			 c->h.level, c->h.nr_spans, TRIAGE_GPUD_MAX_SPANS);
	} else if (!(m = dnn_model_alloc())) {
		ret = -ENOMEM;
		snprintf(why, sizeof(why), "out of memory");
	} else if (zoo_load_named(d->o.models_dir, c->h.model, m, why, sizeof(why))) {
		ret = -ENOENT;
	} else if (!(ret = check_stage(m, &c->h, why, sizeof(why))) &&
		   !(ret = map_file(c, fds[0], why, sizeof(why)))) {
		ret = add_stage(d, c, m, why, sizeof(why));
	}
	if (fds[0] >= 0)
		close(fds[0]); /* the mapping keeps the file */
	dnn_model_free(m);
	if (ret) {
		log_warn("pid %d refused: %s", (int)c->pid, why);
		reply(c, ret < 0 ? ret : -EINVAL, 0, d->g.name, "%s", why);
		conn_free(d, i);
		return;
	}
	epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, c->kick,
		  &(struct epoll_event){ .events = EPOLLIN, .data.u32 = MAX_CONNS + i });
	snprintf(c->stats.name, sizeof(c->stats.name), "%s", c->h.name);
	snprintf(c->stats.model, sizeof(c->stats.model), "%.*s", (int)sizeof(c->stats.model) - 1,
		 c->h.model);
	c->stats.pid = c->pid;
	c->stats.uid = c->uid;
	c->stats.first = c->h.first;
	c->stats.last = c->h.last;
	c->stats.level = c->h.level;
	d->stats_dirty = true;
	reply(c, 0, ++d->next_session, d->g.name, NULL);
	if (!d->o.quiet)
		log_info("pid %d (uid %d): %s layers %d-%d as \"%s\", %s%s%s", (int)c->pid,
			 (int)c->uid, c->h.model, c->h.first, c->h.last, c->h.name,
			 c->h.level == TRIAGE_GPUD_CRITICAL ? "critical" : "best-effort",
			 c->zero_copy ? ", zero copy" : c->registered ? "" : " (its file not pinned: staged copies)",
			 c->w->refs > 1 ? ", weights shared" : "");
}

static void conn_event(struct gpud *d, int i, uint32_t events)
{
	struct conn *c = d->conns[i];

	if (!c)
		return;
	if (!c->id && (events & EPOLLIN)) {
		take_hello(d, i);
		return;
	}
	/* After the hello a client says nothing more: anything is a hang-up
	 * or a protocol error, and either way the stage goes. */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		conn_free(d, i);
}

/* Requests: the client's req moved past what was taken. */
static int take_requests(struct gpud *d)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = d->conns[i];
		uint32_t req;
		int ret;

		if (!c || !c->id || c->in_flight)
			continue;
		req = __atomic_load_n(&c->shm->req, __ATOMIC_ACQUIRE);
		if (req == c->seen)
			continue;
		c->seen = req;
		ret = coord_serve_request(d->cs, c->id);
		if (ret)
			return ret;
		c->in_flight = true;
		c->kicked = mono_s();
		c->requests++;
	}
	return 0;
}

static void answer(struct gpud *d, const struct coord_done *done)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = d->conns[i];
		struct triage_gpud_shm *s;

		if (!c || c->id != done->id)
			continue;
		s = c->shm;
		__atomic_store_n(&s->queued_ns, (uint64_t)(done->queued_s * 1e9), __ATOMIC_RELAXED);
		__atomic_store_n(&s->gpu_ns, (uint64_t)(done->gpu_s * 1e9), __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->launches, done->launches, __ATOMIC_RELAXED);
		__atomic_fetch_add(&s->slices, done->slices, __ATOMIC_RELAXED);
		__atomic_store_n(&s->status, done->status, __ATOMIC_RELAXED);
		c->stats.requests++;
		c->stats.busy_ns += (uint64_t)(done->gpu_s * 1e9);
		c->stats.queued_ns += (uint64_t)(done->queued_s * 1e9);
		c->stats.last_gpu_ns = (uint64_t)(done->gpu_s * 1e9);
		c->stats.launches += done->launches;
		c->stats.slices += done->slices;
		c->stats.bytes_in += c->h.in_floats * sizeof(float);
		c->stats.bytes_out += c->bytes_out_per_request;
		__atomic_store_n(&s->done, c->seen, __ATOMIC_RELEASE);
		syscall(SYS_futex, &s->done, FUTEX_WAKE, 1, NULL, NULL, 0);
		c->in_flight = false;
		return;
	}
}

/* Publishes gpud-stats when a stage came or went, else at most every
 * TRIAGE_GPUD_STATS_MS (and at least that often: the agent reads a table
 * older than TRIAGE_GPUD_STATS_STALE_MS as a gpud that died). */
static void publish_stats(struct gpud *d)
{
	struct triage_gpud_stage_stats st[TRIAGE_GPUD_MAX_STAGES];
	uint64_t now = mono_ns();
	int n = 0;

	if (!d->stats_dirty && now - d->stats_published_ns < TRIAGE_GPUD_STATS_MS * 1000000ull)
		return;
	for (int i = 0; i < MAX_CONNS && n < TRIAGE_GPUD_MAX_STAGES; i++) {
		struct conn *c = d->conns[i];

		if (!c || !c->id)
			continue;
		c->stats.share_permille =
			(uint32_t)(coord_serve_share(d->cs, c->id) * TRIAGE_GPU_SHARE_FULL + 0.5);
		st[n++] = c->stats;
	}
	gpud_stats_publish(&d->stats, st, n);
	d->stats_published_ns = now;
	d->stats_dirty = false;
}

/* Drains a connection's kick eventfd; the request itself is in its file. */
static void drain_kick(struct gpud *d, int i)
{
	eventfd_t v;

	if (d->conns[i])
		eventfd_read(d->conns[i]->kick, &v);
}

/* Returns 1 to stop (a signal), 0 to go on. */
static int handle_events(struct gpud *d, int timeout_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(d->epoll_fd, ev, 16, timeout_ms);

	for (int k = 0; k < n; k++) {
		uint32_t tag = ev[k].data.u32;

		if (tag == TAG_SIGNAL)
			return 1;
		if (tag == TAG_LISTEN)
			accept_conns(d);
		else if (tag >= MAX_CONNS)
			drain_kick(d, (int)tag - MAX_CONNS);
		else
			conn_event(d, (int)tag, ev[k].events);
	}
	return 0;
}

static int loop(struct gpud *d)
{
	uint64_t last_epoll = 0;
	struct coord_done done[COORD_MAX_DNNS];
	char err[320];

	for (;;) {
		bool busy = coord_serve_busy(d->cs);
		uint64_t now = mono_ns();
		int n;

		if (!busy || now - last_epoll >= BUSY_EPOLL_NS) {
			if (handle_events(d, busy ? 0 : IDLE_WAIT_MS))
				return 0;
			last_epoll = now;
		}
		if (take_requests(d) < 0) {
			log_err("a request could not be queued");
			return -1;
		}
		n = coord_serve_poll(d->cs, done, COORD_MAX_DNNS, err, sizeof(err));
		if (n < 0) {
			log_err("%s: exiting (the CUDA context is unusable)", err);
			return -1;
		}
		for (int k = 0; k < n; k++)
			answer(d, &done[k]);
		publish_stats(d);
	}
}

static int open_signals(struct gpud *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return d->signal_fd < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct gpud d;
	struct coord_opts co = { 0 };
	char err[320], shares[4096], stats[4096];
	int ret, status = EXIT_FAILED;

	d.listen_fd = -1;
	d.stats.fd = -1;
	if (parse_options(argc, argv, &d.o))
		return EXIT_USAGE;
	log_program = "triage-gpud";
	log_threshold = d.o.verbose ? LOG_DEBUG : d.o.quiet ? LOG_WARN : LOG_INFO;
	if (open_signals(&d)) {
		log_err("signalfd: %s", strerror(errno));
		return EXIT_FAILED;
	}
	ret = gpu_device_open(&d.g, d.o.device, err, sizeof(err));
	if (ret) {
		log_err("%s", err);
		return ret == -ENOENT || ret == -ENODEV ? EXIT_NO_GPU : EXIT_FAILED;
	}
	if (d.o.profile) {
		/* Stages served at the same time would be measured too. */
		char sock[4200];

		snprintf(sock, sizeof(sock), "%s/%s", d.o.run_dir, TRIAGE_GPUD_SOCKET);
		if (someone_listens(sock))
			log_warn("a triage-gpud serves on %s: the profile measures the GPU as it shares it",
				 sock);
		ret = gpud_profile(&d.g, d.o.models_dir, d.o.output, d.o.verbose, err, sizeof(err));
		if (ret)
			log_err("%s", err);
		gpu_device_close(&d.g);
		return ret ? EXIT_FAILED : 0;
	}
	d.zero_copy = d.o.zero_copy < 0 ? d.g.integrated && d.g.can_map_host : d.o.zero_copy;
	if (d.zero_copy && !d.g.can_map_host) {
		log_warn("--zero-copy on: %s cannot map host memory; copying", d.g.name);
		d.zero_copy = false;
	}
	snprintf(shares, sizeof(shares), "%s/%s", d.o.run_dir, TRIAGE_GPU_SHARES_FILE);
	co.policy = d.o.policy;
	co.shares_path = shares;
	if (coord_serve_create(&d.g, &co, &d.cs, err, sizeof(err))) {
		log_err("%s", err);
		goto out;
	}
	d.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	gpud_stats_path(d.o.run_dir, stats, sizeof(stats));
	if (d.epoll_fd < 0 || open_socket(&d) || write_pid_file(&d))
		goto out;
	if (gpud_stats_create(stats, &d.stats, d.g.name, coord_policy_name(d.o.policy), d.g.nr_sms,
			      err, sizeof(err))) {
		log_err("%s", err);
		goto out;
	}
	epoll_ctl(d.epoll_fd, EPOLL_CTL_ADD, d.listen_fd,
		  &(struct epoll_event){ .events = EPOLLIN, .data.u32 = TAG_LISTEN });
	epoll_ctl(d.epoll_fd, EPOLL_CTL_ADD, d.signal_fd,
		  &(struct epoll_event){ .events = EPOLLIN, .data.u32 = TAG_SIGNAL });
	log_info("%s, %d SMs, compute capability %d.%d; policy %s; %s; listening on %s",
		 d.g.name, d.g.nr_sms, d.g.cc_major, d.g.cc_minor, coord_policy_name(d.o.policy),
		 d.zero_copy ? "zero copy of outputs" : "copies in and out", d.sock_path);
	status = loop(&d) ? EXIT_FAILED : 0;
out:
	for (int i = 0; i < MAX_CONNS; i++)
		conn_free(&d, i);
	if (d.listen_fd >= 0) {
		close(d.listen_fd);
		unlink(d.sock_path);
	}
	if (d.stats.p)
		gpud_stats_stop(&d.stats);
	shm_file_close(&d.stats);
	if (d.pid_path[0])
		unlink(d.pid_path);
	coord_serve_destroy(d.cs);
	gpu_device_close(&d.g);
	return status;
}
