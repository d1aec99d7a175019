// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Probes of the GPU launch gate and of MPS (doctor/gpu_gate.h). Each asks
 * the file system itself: the library as a readable file, the daemon by
 * its socket, the board by its header and its slots' owners.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor/doctor.h"
#include "doctor/gpu_gate.h"
#include "gpu_board.h"

static bool readable_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, R_OK);
}

int gate_lib_find(char *path, size_t len, char *looked, size_t looked_len)
{
	const char *env = getenv(GATE_LIB_ENV);
	char exe[4096], beside[4096 + sizeof(GATE_LIB_NAME)];
	ssize_t n;

	if (env && *env) {
		snprintf(path, len, "%s", env);
		snprintf(looked, looked_len, "%s (from $%s)", env, GATE_LIB_ENV);
		return readable_file(env) ? 0 : -ENOENT;
	}
	beside[0] = '\0';
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			slash[1] = '\0';
			snprintf(beside, sizeof(beside), "%s%s", exe, GATE_LIB_NAME);
		}
	}
	if (beside[0] && readable_file(beside)) {
		snprintf(path, len, "%s", beside);
		return 0;
	}
	snprintf(path, len, "%s/%s", TRIAGE_GATE_LIBDIR, GATE_LIB_NAME);
	if (readable_file(path))
		return 0;
	snprintf(looked, looked_len, "%s%s%s/%s", beside, beside[0] ? " or " : "",
		 TRIAGE_GATE_LIBDIR, GATE_LIB_NAME);
	path[0] = '\0';
	return -ENOENT;
}

bool mps_control_find(char *path, size_t len)
{
	const char *dirs = getenv("PATH");

	while (dirs && *dirs) {
		const char *end = strchrnul(dirs, ':');
		int dir_len = (int)(end - dirs);
		struct stat st;

		/* An empty entry is the current directory. */
		if (dir_len)
			snprintf(path, len, "%.*s/%s", dir_len, dirs, MPS_CONTROL_PROGRAM);
		else
			snprintf(path, len, "./%s", MPS_CONTROL_PROGRAM);
		if (!stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK))
			return true;
		dirs = *end ? end + 1 : end;
	}
	path[0] = '\0';
	return false;
}

bool mps_daemon_listens(const char *pipe_dir)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", pipe_dir, MPS_CONTROL_SOCKET);
	return !stat(path, &st) && S_ISSOCK(st.st_mode);
}

/* The board as gated processes see it: the agent's pid and how many
 * slots live owners hold. */
static void probe_board(struct doctor_report *r, const char *run_dir)
{
	struct triage_gate_board hdr;
	struct gpu_board_file f;
	char path[4096], err[256];
	int ret, live = 0;

	gpu_board_path(run_dir, path, sizeof(path));
	ret = shm_file_open(path, sizeof(*f.b), &f.file, NULL, err, sizeof(err));
	if (ret == -ENOENT) {
		snprintf(r->gate_board, sizeof(r->gate_board),
			 "no board yet at %.200s (the agent makes it at start)", path);
		return;
	}
	if (ret) {
		snprintf(r->gate_board, sizeof(r->gate_board), "%s", err);
		return;
	}
	f.b = f.file.p;
	ret = gpu_board_read_header(f.b, &hdr, err, sizeof(err));
	for (int i = 0; !ret && i < TRIAGE_GATE_MAX_SLOTS; i++) {
		struct triage_gate_slot s;

		live += !gpu_board_read_slot(f.b, i, &s) && gpu_board_slot_live(&s);
	}
	if (ret)
		snprintf(r->gate_board, sizeof(r->gate_board), "%s", err);
	else if (hdr.agent_pid)
		snprintf(r->gate_board, sizeof(r->gate_board),
			 "board %.200s: agent pid %d%s, %d gated processes", path, hdr.agent_pid,
			 kill(hdr.agent_pid, 0) && errno == ESRCH ? " (killed: its shares stand)" : "",
			 live);
	else
		snprintf(r->gate_board, sizeof(r->gate_board),
			 "board %.200s: agent stopped (gates hold nothing), %d gated processes", path,
			 live);
	shm_file_close(&f.file);
}

void doctor_probe_gate(struct doctor_report *r, const char *run_dir, const char *mps_pipe_dir)
{
	char looked[1024];

	r->gate_probed = true;
	r->gate_lib = gate_lib_find(r->gate_lib_path, sizeof(r->gate_lib_path), looked,
				    sizeof(looked)) == 0;
	if (!r->gate_lib)
		snprintf(r->gate_lib_path, sizeof(r->gate_lib_path), "not found at %.480s", looked);
	probe_board(r, run_dir);
	snprintf(r->mps_pipe_dir, sizeof(r->mps_pipe_dir), "%s", mps_pipe_dir);
	r->mps_control = mps_control_find(r->mps_control_path, sizeof(r->mps_control_path));
	r->mps_daemon = mps_daemon_listens(mps_pipe_dir);
	snprintf(r->mps_hint, sizeof(r->mps_hint),
		 "no MPS priorities: start it with CUDA_MPS_PIPE_DIRECTORY=%.256s %s -d (on Jetson MPS needs CUDA >= 12.5)",
		 mps_pipe_dir, MPS_CONTROL_PROGRAM);
}
