// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An empty program, linked (bench/bench.mk) once against egressctl's core
 * libraries (libbpf, libelf, zlib, libyaml, jansson) and once against all
 * of egressctl's libraries (plus libcurl, libmicrohttpd), with
 * --no-as-needed so every library is loaded: the process-start cost each
 * set adds to every egressctl command.
 */
int main(void)
{
	return 0;
}
