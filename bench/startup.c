// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An empty program, linked (bench/bench.mk) once against egressctl's core
 * libraries (libbpf, libelf, zlib, libyaml, jansson) and once against all
 * of egressctl's libraries (plus libcurl, libmicrohttpd), with
 * --no-as-needed so every library is loaded: the process-start cost each
 * set would add to every egressctl command as shared libraries. egressctl
 * links the core ones statically and dlopen()s libcurl and libmicrohttpd
 * in the commands that need them (Makefile).
 */
int main(void)
{
	return 0;
}
