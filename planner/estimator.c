// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The estimator: every DNN's throughput and latency under a whole mapping,
 * in closed form, fast enough for thousands of calls per decision.
 *
 * Each stage needs a server: CPU cores it owns, or a share of a unit
 * (the cores nobody owns, or the GPU) that busy stages split by weight,
 * as processor sharing does (Ibis models the GPU as M/G/1-PS). A DNN
 * needs a_s seconds of server s per inference, for each of its stages.
 * Throughputs come from weighted max-min sharing of each server's time:
 * a server's water level L is the time share per unit of weight that the
 * stages always busy there get, after the stages whose DNN is held back
 * elsewhere took what they use (processor sharing serves an occasional
 * user whenever it comes); DNN i runs at min over its stages of w·L/a, or
 * its request rate. The levels depend on each other through the DNNs that
 * cross servers, so they are iterated to a fixed point; the simulator
 * checks the result against the dynamics. DRAM traffic above the platform's bandwidth stretches every
 * memory-bound part by the same factor, found by bisection so that the
 * traffic the resulting throughputs move fits the bandwidth.
 */
#include <math.h>
#include <string.h>

#include "planner_impl.h"

#define UNBOUNDED_MS 1e6

struct est_stage {
	int dnn, server, unit;
	double compute, memory, xfer; /* alone, seconds per inference */
	double weight;
	double a; /* server seconds per inference at the current inflation */
};

struct est {
	const struct plan_problem *pb;
	int nr;
	struct est_stage st[PLAN_MAX_DNNS * PLAN_MAX_STAGES];
	int first[PLAN_MAX_DNNS + 1]; /* DNN i's stages: first[i]..first[i+1]-1 */
	int nr_servers;
	double throughput[PLAN_MAX_DNNS];
};

double plan_rank_weight(const struct plan_params *p, int rank)
{
	double decay = p->rank_decay > 0 ? p->rank_decay : 0.5;

	return pow(decay, rank > 1 ? rank - 1 : 0);
}

static int stage_pos(const struct plan_problem *pb, int i, int layer)
{
	return layer < 0 ? 0 : pb->tables->dnn[i].pos_of_last[layer];
}

static double stage_time(const struct plan_problem *pb, int i, const struct plan_stage *st,
			 int k, const struct plan_stage *next)
{
	double c, m;
	const struct plan_dnn_tables *t = &pb->tables->dnn[i];
	int p1 = stage_pos(pb, i, st->last);

	plan_tables_stage(pb, i, st->unit, k, stage_pos(pb, i, st->first - 1), p1, &c, &m);
	double x = next ? plan_transfer_s(pb->platform, st->unit, next->unit, t->cut_bytes[p1]) : 0;

	return c + m + x;
}

/* Owned cores on a CPU cluster while every stage there can have one; the
 * rest go one at a time to the stage with the largest weighted time. */
static void allocate_cores(const struct plan_problem *pb, struct plan_mapping *m, int unit)
{
	const struct plan_unit *u = &pb->platform->units[unit];
	struct plan_stage *on[PLAN_MAX_DNNS];
	const struct plan_stage *next[PLAN_MAX_DNNS];
	int dnn[PLAN_MAX_DNNS], n = 0;

	for (int i = 0; i < m->nr_dnns; i++)
		for (int s = 0; s < m->dnn[i].nr_stages; s++)
			if (m->dnn[i].stages[s].unit == unit) {
				on[n] = &m->dnn[i].stages[s];
				next[n] = s + 1 < m->dnn[i].nr_stages ? &m->dnn[i].stages[s + 1] :
									NULL;
				dnn[n++] = i;
			}
	bool own = u->kind == PLAN_UNIT_CPU && !u->aggregate && n <= u->cores;

	if (n == 0)
		return;

	for (int j = 0; j < n; j++)
		on[j]->cores = own ? 1 : 0;
	if (!own)
		return;
	for (int left = u->cores - n; left > 0; left--) {
		int best = -1;
		double worst = -1;

		for (int j = 0; j < n; j++) {
			double t = on[j]->weight * stage_time(pb, dnn[j], on[j], on[j]->cores, next[j]);

			if (t > worst) {
				worst = t;
				best = j;
			}
		}
		on[best]->cores++;
	}
}

static void est_build(struct est *e, const struct plan_problem *pb, struct plan_mapping *m)
{
	const struct plan_platform *p = pb->platform;
	int unit_server[PLAN_MAX_UNITS];

	memset(e, 0, sizeof(*e));
	e->pb = pb;
	for (int u = 0; u < p->nr_units; u++)
		unit_server[u] = e->nr_servers++;
	for (int i = 0; i < m->nr_dnns; i++) {
		e->first[i] = e->nr;
		for (int s = 0; s < m->dnn[i].nr_stages; s++) {
			struct plan_stage *st = &m->dnn[i].stages[s];
			const struct plan_stage *nx = s + 1 < m->dnn[i].nr_stages ?
							      &m->dnn[i].stages[s + 1] :
							      NULL;
			const struct plan_unit *u = &p->units[st->unit];
			struct est_stage *es = &e->st[e->nr++];
			int p1 = stage_pos(pb, i, st->last);
			/* Time-sharing stages run one thread per core nobody owns;
			 * on a unit with time-sharing stages nobody owns any. */
			int k = st->cores > 0 ? st->cores : u->cores;

			es->dnn = i;
			es->unit = st->unit;
			es->weight = st->weight;
			plan_tables_stage(pb, i, st->unit, k, stage_pos(pb, i, st->first - 1), p1,
					  &es->compute, &es->memory);
			es->xfer = nx ? plan_transfer_s(p, st->unit, nx->unit,
							pb->tables->dnn[i].cut_bytes[p1]) :
					0;
			es->server = st->cores > 0 ? e->nr_servers++ : unit_server[st->unit];
		}
	}
	e->first[m->nr_dnns] = e->nr;
}

#define MAX_SERVERS (PLAN_MAX_UNITS + PLAN_MAX_DNNS * PLAN_MAX_STAGES)

/* Throughput DNN i could reach given every server's level except skip's
 * (-1: all): its rate, and on each server w·level/a. */
static double dnn_cap(const struct est *e, const double *level, int i, int skip)
{
	double cap = e->pb->dnn[i].rate_hz > 0 ? e->pb->dnn[i].rate_hz : INFINITY;

	for (int j = e->first[i]; j < e->first[i + 1]; j++) {
		const struct est_stage *s = &e->st[j];

		if (s->server != skip && s->a > 0)
			cap = fmin(cap, s->weight * level[s->server] / s->a);
	}
	return cap;
}

/*
 * Water level of server r: the share of its time per unit of weight that
 * the stages always busy there get, when every other stage takes what its
 * DNN's other limits let it use (processor sharing serves an occasional
 * user whenever it comes). INFINITY: the server is not saturated.
 */
static double server_level(const struct est *e, const double *level, int r)
{
	double need[PLAN_MAX_DNNS * PLAN_MAX_STAGES], w[PLAN_MAX_DNNS * PLAN_MAX_STAGES];
	int n = 0;

	for (int j = 0; j < e->nr; j++) {
		const struct est_stage *s = &e->st[j];

		if (s->server != r || s->a <= 0 || s->weight <= 0)
			continue;
		double d = dnn_cap(e, level, s->dnn, r) * s->a;
		int at = n++;

		/* by need per weight, ascending */
		while (at > 0 && need[at - 1] / w[at - 1] > d / s->weight) {
			need[at] = need[at - 1];
			w[at] = w[at - 1];
			at--;
		}
		need[at] = d;
		w[at] = s->weight;
	}
	double left = 1, wsum = 0;

	for (int j = 0; j < n; j++)
		wsum += w[j];
	for (int j = 0; j < n; j++) {
		if (need[j] / w[j] > left / wsum)
			return left / wsum;
		left -= need[j];
		wsum -= w[j];
	}
	return INFINITY;
}

/*
 * Weighted max-min sharing of every server's time at DRAM inflation kappa:
 * Gauss-Seidel over the servers' water levels until they settle, then each
 * DNN runs at the least its stages' levels allow.
 */
static void est_fill(struct est *e, double kappa)
{
	double level[MAX_SERVERS];

	for (int j = 0; j < e->nr; j++)
		e->st[j].a = e->st[j].compute + kappa * e->st[j].memory + e->st[j].xfer;
	for (int r = 0; r < e->nr_servers; r++)
		level[r] = INFINITY;
	for (int sweep = 0; sweep < 60; sweep++) {
		double change = 0;

		for (int r = 0; r < e->nr_servers; r++) {
			double l = server_level(e, level, r);

			if (isfinite(l) != isfinite(level[r]))
				change = 1;
			else if (isfinite(l))
				change = fmax(change, fabs(l - level[r]) / l);
			level[r] = l;
		}
		if (change < 1e-9)
			break;
	}
	for (int i = 0; i < e->pb->nr_dnns; i++) {
		double t = dnn_cap(e, level, i, -1);

		/* A DNN needing no server time is bound by nothing we model. */
		e->throughput[i] = isfinite(t) ? t : 1e9;
	}
}

static double dram_traffic(const struct est *e)
{
	double bytes = 0;

	for (int i = 0; i < e->pb->nr_dnns; i++) {
		const struct plan_dnn_tables *t = &e->pb->tables->dnn[i];

		bytes += e->throughput[i] * t->bytes[t->nb - 1];
	}
	return bytes;
}

/* Smallest inflation whose throughputs move no more than the DRAM allows. */
static double est_solve(struct est *e)
{
	double bw = e->pb->platform->dram_gbps * 1e9;

	est_fill(e, 1);
	if (bw <= 0 || dram_traffic(e) <= bw)
		return 1;
	double lo = 1, hi = 2;

	for (int i = 0; i < 40; i++) {
		est_fill(e, hi);
		if (dram_traffic(e) <= bw)
			break;
		lo = hi;
		hi *= 2;
	}
	for (int i = 0; i < 12; i++) {
		double mid = sqrt(lo * hi);

		est_fill(e, mid);
		if (dram_traffic(e) <= bw)
			hi = mid;
		else
			lo = mid;
	}
	est_fill(e, hi);
	return hi;
}

/* Busy fraction of stage j's server that the other stages there hold,
 * weighted as processor sharing weighs them: the share j gets while busy. */
static double busy_share(const struct est *e, int j)
{
	const struct est_stage *s = &e->st[j];
	double others = 0;

	for (int o = 0; o < e->nr; o++) {
		const struct est_stage *x = &e->st[o];

		if (o != j && x->server == s->server)
			others += x->weight * fmin(1, e->throughput[x->dnn] * x->a);
	}
	return s->weight > 0 ? s->weight / (s->weight + others) : 1;
}

static double rate_latency_s(const struct est *e, int i, const double *eff)
{
	const struct plan_problem *pb = e->pb;
	double lambda = pb->dnn[i].rate_hz, total = 0;

	if (e->throughput[i] < lambda * (1 - 1e-9))
		return INFINITY;
	for (int j = e->first[i]; j < e->first[i + 1]; j++) {
		const struct est_stage *s = &e->st[j];

		if (pb->platform->units[s->unit].kind == PLAN_UNIT_GPU) {
			/* Ibis: M/G/1-PS over the rate-driven stages on this GPU. */
			double big_lambda = 0, work = 0;

			for (int o = 0; o < e->nr; o++) {
				const struct est_stage *x = &e->st[o];
				double l = pb->dnn[x->dnn].rate_hz;

				if (x->server == s->server && l > 0) {
					big_lambda += l;
					work += l * eff[o];
				}
			}
			double mu = big_lambda / work;

			if (mu <= big_lambda)
				return INFINITY;
			total += eff[j] + 1 / (mu - big_lambda) - 1 / mu;
		} else {
			double rho = lambda * eff[j];

			if (rho >= 1)
				return INFINITY;
			total += eff[j] / (1 - rho);
		}
	}
	return total;
}

static void estimate_once(const struct plan_problem *pb, struct plan_mapping *m,
			  struct plan_estimate *out)
{
	struct est e_local, *e = &e_local;
	double eff[PLAN_MAX_DNNS * PLAN_MAX_STAGES];

	for (int u = 0; u < pb->platform->nr_units; u++)
		if (pb->platform->units[u].kind == PLAN_UNIT_CPU)
			allocate_cores(pb, m, u);
		else
			for (int i = 0; i < m->nr_dnns; i++)
				for (int s = 0; s < m->dnn[i].nr_stages; s++)
					if (m->dnn[i].stages[s].unit == u)
						m->dnn[i].stages[s].cores = 0;

	est_build(e, pb, m);
	memset(out, 0, sizeof(*out));
	out->dram_inflation = est_solve(e);

	for (int j = 0; j < e->nr; j++)
		eff[j] = e->st[j].a / busy_share(e, j);
	for (int i = 0; i < m->nr_dnns; i++) {
		double c = pb->correction[i] > 0 ? pb->correction[i] : 1, lat = 0;
		int b = 0, k = 0;

		if (pb->dnn[i].rate_hz > 0) {
			lat = rate_latency_s(e, i, eff);
		} else {
			/* Flat out: the queues ahead of the bottleneck stay full. */
			for (int j = e->first[i]; j < e->first[i + 1]; j++, k++) {
				lat += eff[j];
				if (eff[j] > eff[e->first[i] + b])
					b = k;
			}
			lat += e->throughput[i] > 0 ? PLAN_QUEUE_DEPTH * b / e->throughput[i] :
						      INFINITY;
		}
		out->throughput[i] = e->throughput[i] * c;
		out->latency_ms[i] = isfinite(lat) ? fmin(lat * 1e3 / c, UNBOUNDED_MS) :
						     UNBOUNDED_MS;
		for (int j = e->first[i], s = 0; j < e->first[i + 1]; j++, s++) {
			const struct plan_unit *u = &pb->platform->units[e->st[j].unit];
			struct plan_stage *st = &m->dnn[i].stages[s];
			double busy = fmin(1, e->throughput[i] * e->st[j].a);

			st->share = u->kind == PLAN_UNIT_CPU && u->cores > 0 && st->cores > 0 ?
					    busy * st->cores / u->cores :
					    busy;
		}
	}
}

/*
 * Rank weights alone can starve: five DNNs sharing a GPU at weights 1, 1/2,
 * ..., 1/16 leave the last with 3% of it. The weights are the agent's to
 * set (cpu.weight, the GPU share), so when the planner chose them (weight
 * 0 on entry) a DNN the estimate puts under its guarded floor has its
 * weights raised by the shortfall, and the mix is estimated again: ranks
 * decide the sharing above the floors, the floors come first. A lifted
 * weight stays at most that of rank 1: past it the simulator showed the
 * estimate of time-shared CPU stages going wrong. Weights given by the
 * caller are left as they are.
 */
#define FLOOR_LIFT_ROUNDS 3

void plan_estimate(const struct plan_problem *pb, struct plan_mapping *m, struct plan_estimate *out)
{
	const struct plan_params *p = &pb->params;
	double target = p->floor * (1 + (p->floor_guard > 0 ? p->floor_guard : 0)) * 1.02;
	bool chosen[PLAN_MAX_DNNS] = { false };

	for (int i = 0; i < m->nr_dnns; i++)
		for (int s = 0; s < m->dnn[i].nr_stages; s++)
			if (!(m->dnn[i].stages[s].weight > 0)) {
				m->dnn[i].stages[s].weight = plan_rank_weight(p, pb->dnn[i].rank);
				chosen[i] = true;
			}
	estimate_once(pb, m, out);
	for (int round = 0; target > 0 && round < FLOOR_LIFT_ROUNDS; round++) {
		bool lifted = false;

		for (int i = 0; i < m->nr_dnns; i++) {
			double pot = pb->potential[i], x = pot > 0 ? out->throughput[i] / pot : 1;

			if (!chosen[i] || x >= target)
				continue;
			for (int s = 0; s < m->dnn[i].nr_stages; s++) {
				struct plan_stage *st = &m->dnn[i].stages[s];
				double w = fmin(st->weight * target / fmax(x, 1e-3),
						plan_rank_weight(p, 1));

				if (w > st->weight) {
					st->weight = w;
					lifted = true;
				}
			}
		}
		if (!lifted)
			break;
		estimate_once(pb, m, out);
	}
}

double plan_correction_update(double current, double measured, double estimated, double alpha)
{
	if (!(current > 0))
		current = 1;
	if (!(estimated > 0) || !(measured >= 0) || !(alpha > 0))
		return current;
	double sample = fmin(fmax(measured / (estimated / current), 0.05), 20);

	alpha = fmin(alpha, 1);
	return (1 - alpha) * current + alpha * sample;
}
