#!/bin/sh
# The testbed's Traefik image starts like the official one: `traefik` is the default command, and
# arguments that are flags (`--providers.swarm=true ...`) or a Traefik subcommand (`healthcheck`,
# `version`) are given to traefik.
set -e
case "${1:-}" in
  -*) set -- traefik "$@" ;;
  healthcheck | version) set -- traefik "$@" ;;
esac
exec "$@"
