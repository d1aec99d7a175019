// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * triaged: the agent. One thread, one epoll loop: the protection tick, the
 * status period, inotify on the level directories, the control socket, the
 * sensors' events (triage.ko's notifications) and the termination
 * signals. Everything it changes on the system goes through
 * the cgroup journal, so SIGINT/SIGTERM restores it and an agent started
 * after a kill -9 adopts the tree and the journal as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cpulist.h"
#include "clock.h"
#include "agent.h"
#include "ctl/ctl.h"
#include "doctor/doctor.h"
#include "log.h"
#include "policy/rules_scan.h"

#define EXIT_BAD_CONFIG 2

enum loop_source { SRC_SIGNAL, SRC_TICK, SRC_STATUS, SRC_INOTIFY, SRC_CTL, SRC_SENSORS };

struct loop {
	int epoll_fd, signal_fd, tick_fd, status_fd, inotify_fd, ctl_fd, lock_fd;
	uint64_t last_tick_ns, last_status_ns, last_rules_ns, last_reconcile_ns;
};

/* Where memberships are mirrored across v1 hierarchies or tgids tagged
 * for the sensors, how often the tick does it: reading every workload's
 * cgroup.procs in every hierarchy was most of a tick's cost (about 20
 * opens a tick for three workloads on a hybrid machine), paid at the
 * agent's real-time priority. Placements by the agent (triagectl, a
 * client's take-on, a rule) reconcile at once; what this delays is a
 * process moved in by hand or forked by a member, by at most this. */
#define AGENT_RECONCILE_MS 200

struct options {
	const char *config_path;
	enum sensors_kind sensors;
	bool doctor, check_config, keep_pins;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: triaged [options]\n"
		"Keeps critical DNN workloads' CPU latency while best-effort ones use the rest.\n\n"
		"  -c, --config FILE    JSON configuration (default: the embedded one,\n"
		"                       identical to docs/triage.example.json)\n"
		"      --check-config   validate the configuration and exit (2 if bad)\n"
		"      --doctor         print what this kernel and board support, then exit\n"
		"      --sensors KIND   auto (default: bpf, else kmod, else proc), bpf, kmod,\n"
		"                       proc (degraded) or none\n"
		"      --keep-pins      leave the BPF maps pinned (or triage.ko's tags and\n"
		"                       counters) on exit\n"
		"  -v, --verbose        log every protection decision (-vv: also libbpf's)\n"
		"  -q, --quiet          no status line every second\n"
		"  -h, --help           this text\n\n"
		"Processes go into /sys/fs/cgroup/<root>/<level>/<workload>/ (see triagectl).\n"
		"Metrics: bpftool map dump pinned /sys/fs/bpf/triage/cpu_stats (docs/metrics.md).\n");
}

static int parse_options(int argc, char **argv, struct options *o, struct agent *a)
{
	static const struct option long_opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check-config", no_argument, NULL, 'C' },
		{ "doctor", no_argument, NULL, 'D' },       { "sensors", required_argument, NULL, 's' },
		{ "keep-pins", no_argument, NULL, 'k' },    { "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },        { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->sensors = SENSORS_AUTO;
	while ((c = getopt_long(argc, argv, "c:vqh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'C':
			o->check_config = true;
			break;
		case 'D':
			o->doctor = true;
			break;
		case 's':
			if (sensors_kind_parse(optarg, &o->sensors)) {
				fprintf(stderr,
					"triaged: --sensors: unknown kind \"%s\" (auto, bpf, kmod, proc or none)\n",
					optarg);
				return -1;
			}
			break;
		case 'k':
			o->keep_pins = true;
			break;
		case 'v':
			log_threshold = log_threshold == LOG_INFO ? LOG_DEBUG : LOG_TRACE;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "triaged: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* One agent per run directory: a second one would fight the first over
 * every knob. */
static int take_lock(const char *run_dir)
{
	char path[PATH_MAX + 16], pid[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/triaged.pid", run_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		n = (int)read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_err("another triaged is running (pid %s, lock %s)", pid[0] ? pid : "?", path);
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (ftruncate(fd, 0) || write(fd, pid, (size_t)n) != n)
		log_warn("%s: cannot write pid", path);
	return fd;
}

/* Creates the root and level cgroups and applies the level policy. A quota
 * found in place (an earlier agent was killed) is adopted, not reset, so a
 * restart does not let best-effort work burst over the critical one. */
static int setup_levels(struct agent *a)
{
	double ceiling[TRIAGE_MAX_LEVELS];
	char rel[PATH_MAX];
	int err;

	err = cg_create(&a->cg, a->cfg.cgroup_root);
	if (err) {
		log_err("cannot create cgroup %s: %s", a->cfg.cgroup_root, strerror(-err));
		return err;
	}
	for (int i = 0; i < a->cfg.nr_levels; i++) {
		const struct level_cfg *l = &a->cfg.levels[i];
		int n = l->cpus[0] ? cpulist_parse(l->cpus, strlen(l->cpus), CPU_SETSIZE, 0, NULL) : cpus_online();

		ceiling[i] = n > 0 ? n : cpus_online();
		workloads_level_rel(&a->cfg, i, rel, sizeof(rel));
		err = cg_create(&a->cg, rel);
		if (err) {
			log_err("cannot create cgroup %s: %s", rel, strerror(-err));
			return err;
		}
		/* The kernel refuses weights on an idle group (EINVAL): there the
		 * weight is the idle class's, not ours. */
		err = l->idle ? 0 : cg_set_weight(&a->cg, rel, l->weight);
		if (err)
			log_warn("%s: cannot set weight %u: %s", rel, l->weight, strerror(-err));
		if (l->idle) {
			err = cg_set_idle(&a->cg, rel, true);
			if (err == -EOPNOTSUPP)
				log_warn("%s: no cpu.idle (Linux < 5.15): level \"%s\" relies on its weight alone",
					 rel, l->name);
			else if (err)
				log_warn("%s: cannot set cpu.idle: %s", rel, strerror(-err));
		}
		if (l->cpus[0]) {
			err = cg_set_cpus(&a->cg, rel, l->cpus);
			if (err == -EOPNOTSUPP)
				log_warn("%s: no cpuset controller, cpus \"%s\" ignored", rel, l->cpus);
			else if (err)
				log_warn("%s: cannot set cpus \"%s\": %s", rel, l->cpus, strerror(-err));
		}
	}
	protect_init(&a->protect, &a->cfg, ceiling);
	for (int i = 0; i < a->cfg.nr_levels; i++) {
		double cores;

		if (!a->cfg.levels[i].throttle)
			continue;
		workloads_level_rel(&a->cfg, i, rel, sizeof(rel));
		if (cg_get_quota(&a->cg, rel, &cores) == 0 && cores > 0 && cores < ceiling[i]) {
			a->protect.level[i].limit = cores;
			log_info("%s: adopting quota of %.2f cores left in place", rel, cores);
		}
	}
	return 0;
}

static void watch_levels(struct agent *a, struct loop *lp)
{
	char rel[PATH_MAX], dirs[3][PATH_MAX];

	for (int i = 0; i < a->cfg.nr_levels; i++) {
		int n;

		workloads_level_rel(&a->cfg, i, rel, sizeof(rel));
		n = cg_dirs(&a->cg, rel, dirs, 3);
		for (int d = 0; d < n; d++)
			if (inotify_add_watch(lp->inotify_fd, dirs[d],
					      IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
						      IN_ONLYDIR) < 0)
				log_warn("%s: cannot watch: %s (new workloads found every %u ms instead)",
					 dirs[d], strerror(errno), a->cfg.status_ms);
	}
}

static int epoll_add(int epoll_fd, int fd, enum loop_source src)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

	return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int timer_start(unsigned ms)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	its.it_value = its.it_interval;
	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The signals the loop takes through its signalfd. main() blocks them
 * before it changes anything, so that one sent during start-up (a
 * `systemctl stop` while BPF programs load) waits for the loop, which
 * restores and exits, instead of killing the agent half set up. */
static void stop_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGHUP);
}

static int loop_open(struct agent *a, struct loop *lp)
{
	char err[256];
	sigset_t mask;

	stop_signals(&mask);
	signal(SIGPIPE, SIG_IGN);
	lp->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	lp->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	lp->tick_fd = timer_start(a->cfg.tick_ms);
	lp->status_fd = timer_start(a->cfg.status_ms);
	lp->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (lp->signal_fd < 0 || lp->epoll_fd < 0 || lp->tick_fd < 0 || lp->status_fd < 0 ||
	    lp->inotify_fd < 0) {
		log_err("cannot set up the event loop: %s", strerror(errno));
		return -1;
	}
	lp->ctl_fd = ctl_listen(a->cfg.run_dir, err, sizeof(err));
	if (lp->ctl_fd < 0) {
		log_err("control socket: %s", err);
		return -1;
	}
	watch_levels(a, lp);
	if (epoll_add(lp->epoll_fd, lp->signal_fd, SRC_SIGNAL) ||
	    epoll_add(lp->epoll_fd, lp->tick_fd, SRC_TICK) ||
	    epoll_add(lp->epoll_fd, lp->status_fd, SRC_STATUS) ||
	    epoll_add(lp->epoll_fd, lp->inotify_fd, SRC_INOTIFY) ||
	    epoll_add(lp->epoll_fd, lp->ctl_fd, SRC_CTL)) {
		log_err("epoll: %s", strerror(errno));
		return -1;
	}
	if (a->sensors && sensors_event_fd(a->sensors) >= 0 &&
	    epoll_add(lp->epoll_fd, sensors_event_fd(a->sensors), SRC_SENSORS)) {
		log_err("epoll: %s", strerror(errno));
		return -1;
	}
	lp->last_tick_ns = lp->last_status_ns = lp->last_rules_ns = lp->last_reconcile_ns = mono_ns();
	return 0;
}

static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void explain_decision(const struct agent *a, const struct protect_decision *d)
{
	const char *victim = a->cfg.levels[d->level].name;

	switch (d->action) {
	case PROTECT_RELAX:
		log_debug("relax %s: %.2f -> %.2f cores", victim, d->old_limit, d->new_limit);
		return;
	case PROTECT_REVERT:
		log_info("cutting %s did not help %s (%.1fx past target, was %.1fx): quota given back, no cuts to it for %u ticks",
			 victim, a->cfg.levels[d->cause].name, d->severity, d->was, d->hold_off);
		return;
	case PROTECT_CUT:
		break;
	case PROTECT_NONE:
		return;
	}
	for (int k = 0; k < a->reg.nr; k++) {
		const struct workload *w = a->reg.wl[k];
		const struct agent_client *c = agent_client_of(a, w->id);
		bool by_latency;

		if (w->level != d->cause ||
		    agent_clients_severity(a, w->id, workload_severity(&a->cfg, w), &by_latency) < 1)
			continue;
		if (by_latency) {
			log_debug("cut %s: %.2f -> %.2f cores (%s/%s: latency p99 %.1f ms, target %.1f ms, acting from %.0f%% of it)",
				  victim, d->old_limit, d->new_limit, a->cfg.levels[w->level].name,
				  w->name, c->seen.latency_p99_ms, c->seen.latency_ms,
				  100 * AGENT_CLIENT_LATENCY_GUARD);
			return;
		}
		log_debug("cut %s: %.2f -> %.2f cores (%s/%s: wait p99 %.0f us, target %u; interference %.1f%%, target %.1f%%)",
			  victim, d->old_limit, d->new_limit, a->cfg.levels[w->level].name, w->name,
			  w->tick.wait_p99_us, a->cfg.levels[w->level].wait_p99_us, w->tick.intf_pct,
			  a->cfg.levels[w->level].intf_pct);
		return;
	}
}

static void on_tick(struct agent *a, struct loop *lp)
{
	struct protect_sample sample = { .nr_levels = a->cfg.nr_levels };
	struct protect_decision d;
	uint64_t now = mono_ns();

	drain(lp->tick_fd);
	if (a->cfg.nr_rules && now - lp->last_rules_ns >= a->cfg.rule_scan_ms * 1000000ull) {
		lp->last_rules_ns = now;
		rules_scan(&a->reg);
	}
	if (workloads_reconcile_each_tick(&a->reg) &&
	    now - lp->last_reconcile_ns >= AGENT_RECONCILE_MS * 1000000ull) {
		lp->last_reconcile_ns = now;
		workloads_reconcile(&a->reg);
	}
	agent_sched_tick(a, now);
	agent_gpu_tick(a);
	if (!a->sensors)
		return;
	/* Sensors with neither a wait histogram nor interference (proc)
	 * cannot show a missed target: tick windows would cost a read of
	 * every tagged thread's files and decide nothing. */
	if (sensors_features(a->sensors) & (SENSORS_HAS_WAIT_HIST | SENSORS_HAS_INTERFERENCE))
		workloads_sample(&a->reg, WL_WINDOW_TICK, now - lp->last_tick_ns);
	lp->last_tick_ns = now;
	for (int k = 0; k < a->reg.nr; k++) {
		const struct workload *w = a->reg.wl[k];

		double severity = agent_clients_severity(a, w->id, workload_severity(&a->cfg, w),
							 NULL);

		sample.nr_workloads[w->level]++;
		sample.used_cores[w->level] += w->tick.cpu_cores;
		if (severity > sample.severity[w->level])
			sample.severity[w->level] = severity;
	}
	d = protect_tick(&a->protect, &a->cfg, &sample);
	if (d.action == PROTECT_NONE)
		return;
	explain_decision(a, &d);
	agent_apply_limit(a, d.level);
}

static void on_status(struct agent *a, struct loop *lp)
{
	uint64_t now = mono_ns();
	char line[1024];

	drain(lp->status_fd);
	workloads_scan(&a->reg); /* also catches what inotify could not watch */
	if (!workloads_reconcile_each_tick(&a->reg))
		workloads_reconcile(&a->reg); /* process counts for status */
	workloads_sample(&a->reg, WL_WINDOW_STATUS, now - lp->last_status_ns);
	agent_sensors_sample_cpus(a, now - lp->last_status_ns);
	agent_clients_measure(a, now);
	lp->last_status_ns = now;
	if (a->quiet)
		return;
	agent_format_status(a, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
}

static void on_inotify(struct agent *a, struct loop *lp)
{
	drain(lp->inotify_fd);
	/* Scan now rather than at the next tick: the tag must be in the map
	 * before the new workload's first task runs for long. */
	workloads_scan(&a->reg);
}

static void on_ctl(struct agent *a, struct loop *lp)
{
	for (;;) {
		struct json_object *req, *reply;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct timeval tv = { .tv_sec = 1 };
		char err[256];
		int fd = accept4(lp->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
			cred.uid = (uid_t)-1;
		req = ctl_recv(fd, 1000, err, sizeof(err));
		if (req) {
			reply = agent_handle_request(a, req, cred.uid);
			json_object_put(req);
		} else {
			reply = json_object_new_object();
			json_object_object_add(reply, "ok", json_object_new_boolean(0));
			json_object_object_add(reply, "error", json_object_new_string(err));
		}
		ctl_send(fd, reply);
		json_object_put(reply);
		close(fd);
	}
}

static int run_loop(struct agent *a, struct loop *lp)
{
	for (;;) {
		struct epoll_event ev[8];
		int n = epoll_wait(lp->epoll_fd, ev, 8, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			switch (ev[i].data.u32) {
			case SRC_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(lp->signal_fd, &si, sizeof(si)) != sizeof(si))
					break;
				if (si.ssi_signo == SIGHUP) {
					log_info("SIGHUP: configuration reload is not supported; restart triaged");
					break;
				}
				log_info("%s: restoring and exiting", strsignal((int)si.ssi_signo));
				return 0;
			}
			case SRC_TICK: {
				uint64_t t0 = mono_ns(), c0 = cputime_ns(), c1;

				on_tick(a, lp);
				/* After the protection loop's decision, which must
				 * not wait for a search. */
				c1 = cputime_ns();
				agent_clients_scan(a);
				cost_ring_add(&a->scan_cpu, cputime_ns() - c1);
				agent_plan_step(&a->plan, &a->cfg, &a->reg, mono_ns());
				agent_clients_enforce(a);
				cost_ring_add(&a->tick_cost, mono_ns() - t0);
				cost_ring_add(&a->tick_cpu, cputime_ns() - c0);
				break;
			}
			case SRC_STATUS:
				on_status(a, lp);
				break;
			case SRC_INOTIFY:
				on_inotify(a, lp);
				break;
			case SRC_CTL:
				on_ctl(a, lp);
				break;
			case SRC_SENSORS:
				agent_sensors_events(a);
				break;
			}
		}
	}
}

static void loop_close(struct agent *a, struct loop *lp)
{
	int fds[] = { lp->signal_fd, lp->tick_fd, lp->status_fd, lp->inotify_fd, lp->ctl_fd, lp->epoll_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (lp->ctl_fd >= 0)
		ctl_unlink(a->cfg.run_dir);
}

static int load_config(const struct options *o, struct triage_config *cfg)
{
	char err[1024];
	int ret = o->config_path ? config_load_file(o->config_path, cfg, err, sizeof(err))
				 : config_load_default(cfg, err, sizeof(err));

	/* A model the zoo lacks is a config error like a misspelt level. */
	if (!ret)
		ret = agent_plan_check_rules(cfg, o->config_path ? o->config_path
								 : "<embedded default>",
					     err, sizeof(err));
	if (ret)
		fprintf(stderr, "triaged: bad configuration: %s\n", err);
	return ret;
}

int main(int argc, char **argv)
{
	struct loop lp = { .signal_fd = -1, .tick_fd = -1, .status_fd = -1, .inotify_fd = -1,
			   .ctl_fd = -1, .epoll_fd = -1, .lock_fd = -1 };
	static struct agent a = { .quota_ok = true };
	struct doctor_report *probe = &a.probe;
	sigset_t stop;
	struct options o;
	int status = 1, left;

	if (parse_options(argc, argv, &o, &a))
		return EXIT_BAD_CONFIG;
	if (load_config(&o, &a.cfg))
		return EXIT_BAD_CONFIG;
	if (o.check_config) {
		printf("%s: ok (%d levels, %d rules)\n", o.config_path ? o.config_path : "<embedded default>",
		       a.cfg.nr_levels, a.cfg.nr_rules);
		return 0;
	}
	doctor_probe(probe, NULL);
	doctor_probe_gpud(probe, a.cfg.run_dir);
	doctor_probe_gate(probe, a.cfg.run_dir, a.cfg.mps_pipe_dir);
	if (o.doctor) {
		agent_plan_doctor(&a.cfg.planner, probe);
		doctor_print(probe, stdout);
		return 0;
	}
	if (geteuid() != 0) {
		log_err("must run as root: it changes cgroups and loads BPF programs");
		return 1;
	}
	stop_signals(&stop);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	if (!probe->cg_ok) {
		log_err("cgroups: %s", probe->cg_err);
		return 1;
	}
	a.cg = probe->cg;
	doctor_log_missing(probe);
	if (mkdir(a.cfg.run_dir, 0755) && errno != EEXIST) {
		log_err("cannot create %s: %s", a.cfg.run_dir, strerror(errno));
		return 1;
	}
	lp.lock_fd = take_lock(a.cfg.run_dir);
	if (lp.lock_fd < 0)
		return 1;
	snprintf(a.cg.run_dir, sizeof(a.cg.run_dir), "%s", a.cfg.run_dir);
	if (cg_journal_load(&a.cg))
		log_warn("%s/state.json unreadable: knobs an earlier agent changed may not be restored",
			 a.cfg.run_dir);
	log_info("cgroup mode %s; levels under %s/", cg_mode_name(a.cg.mode), a.cfg.cgroup_root);

	if (agent_sensors_open(&a, o.sensors, o.keep_pins) || setup_levels(&a) ||
	    agent_sched_open(&a))
		goto restore;
	workloads_init(&a.reg, &a.cfg, &a.cg, a.sensors);
	workloads_scan(&a.reg);
	rules_scan(&a.reg);
	workloads_reconcile(&a.reg);
	agent_sensors_prune(&a);
	agent_plan_open(&a.plan, &a.cfg.planner);
	agent_clients_open(&a);
	agent_clients_scan(&a);
	agent_gpu_open(&a.gpu, &a.cfg);
	if (loop_open(&a, &lp))
		goto restore;
	log_info("running: tick %u ms, control socket %s/%s", a.cfg.tick_ms, a.cfg.run_dir, CTL_SOCK_NAME);
	status = run_loop(&a, &lp) ? 1 : 0;

restore:
	loop_close(&a, &lp);
	agent_gpu_close(&a.gpu, true);
	agent_clients_close(&a);
	agent_sched_close(&a);
	left = cg_restore_all(&a.cg);
	if (left)
		log_warn("%d setting(s) could not be restored; see the messages above", left);
	else
		log_info("every setting restored; processes stay in their cgroups");
	agent_plan_close(&a.plan);
	workloads_free(&a.reg);
	agent_sensors_close(&a);
	if (lp.lock_fd >= 0) {
		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/triaged.pid", a.cfg.run_dir);
		unlink(path);
		close(lp.lock_fd);
	}
	return status ? 1 : (left ? 1 : 0);
}
