# NixOS module for cc-ci: `services.cc-ci = { enable; settings; tokenFile; webhookSecretFile; }`
# runs `ccci serve` as a hardened systemd service on a single-node Docker swarm, with the
# unprivileged `ccci-runner` user for code from pull requests. docs/operators.md ("NixOS") shows
# a host configuration; what could and could not be checked without Nix builds is said there too.
{ config, lib, pkgs, ... }:

let
  cfg = config.services.cc-ci;
  settingsFormat = pkgs.formats.toml { };
  # settings.nix is builtins only, so the project's tests evaluate exactly this merge.
  configFile = settingsFormat.generate "cc-ci-server.toml" (import ./settings.nix {
    inherit (cfg) settings tokenFile webhookSecretFile;
  });
  secretPath = lib.types.nullOr (lib.types.strMatching "/.*");
in
{
  options.services.cc-ci = {
    enable = lib.mkEnableOption "cc-ci, continuous integration for Co-op Cloud recipes (`ccci serve`)";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalExpression "pkgs.callPackage ./nix/package.nix { }";
      description = "The cc-ci package, providing `ccci`.";
    };

    settings = lib.mkOption {
      type = settingsFormat.type;
      default = { };
      example = import ./example-settings.nix;
      description = ''
        The server's configuration: the keys of server.toml (docs/operators.md, "The
        configuration file"), written to /etc/cc-ci/server.toml through the Nix store.
        Defaults filled in by the module: `data_dir = "/var/lib/cc-ci"`,
        `listen = "127.0.0.1:8090"`. Never put a secret here (the store is world-readable):
        use `tokenFile` and `webhookSecretFile`.
      '';
    };

    tokenFile = lib.mkOption {
      type = secretPath;
      default = null;
      example = "/run/keys/cc-ci-forge-token";
      description = ''
        Absolute path, as a string, of a file holding the forge bot's API token (sets
        `forge.token_file`). A string, not a Nix path literal, which would copy the secret
        into the store. Null: set `settings.forge.token_env` and provide the variable through
        `systemd.services.cc-ci.serviceConfig.EnvironmentFile`.
      '';
    };

    webhookSecretFile = lib.mkOption {
      type = secretPath;
      default = null;
      example = "/run/keys/cc-ci-webhook-secret";
      description = ''
        Absolute path, as a string, of a file holding the webhook secret configured on the
        forge (sets `webhook.secret_file`). Null: no webhook unless `settings.webhook` says
        otherwise; the server then relies on polling.
      '';
    };

    swarmAdvertiseAddress = lib.mkOption {
      type = lib.types.str;
      default = "127.0.0.1";
      example = "192.0.2.10";
      description = "The address `docker swarm init` advertises when this host is not in a swarm yet.";
    };

    preStart = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = lib.literalExpression ''[ "''${config.services.cc-ci.package}/bin/ccci server init --config /etc/cc-ci/server.toml" ]'';
      description = ''
        Commands run before `ccci serve` (ExecStartPre=): the hook point for `ccci server init`
        (swarm, proxy network, proxy and certificates) once cc-ci ships it.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.tokenFile != null || (cfg.settings.forge or { }) ? token_env;
        message = "services.cc-ci: set tokenFile (or settings.forge.token_env) for the forge bot's token.";
      }
      {
        assertion = !((cfg.settings.forge or { }) ? token) && !((cfg.settings.webhook or { }) ? secret);
        message = "services.cc-ci: secrets must not be in settings (the Nix store is world-readable); use tokenFile and webhookSecretFile.";
      }
    ];

    virtualisation.docker.enable = true;
    # Docker refuses swarm mode with live-restore, which NixOS turns on by default.
    virtualisation.docker.liveRestore = false;

    # The user code from pull requests runs as: no login, own group, never in the docker group.
    users.users.ccci-runner = {
      isSystemUser = true;
      group = "ccci-runner";
      description = "cc-ci: code from pull requests";
      home = "/var/empty";
      shell = "${pkgs.shadow}/bin/nologin";
    };
    users.groups.ccci-runner = { };

    environment.systemPackages = [ cfg.package ];
    # At the path `ccci doctor` and `ccci config check` read by default.
    environment.etc."cc-ci/server.toml".source = configFile;

    # This host as a single-node swarm manager with the `proxy` overlay network, idempotently.
    systemd.services.cc-ci-swarm = {
      description = "cc-ci: single-node Docker swarm and the proxy network";
      after = [ "docker.service" ];
      requires = [ "docker.service" ];
      path = [ config.virtualisation.docker.package ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
      script = ''
        if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
          docker swarm init --advertise-addr ${lib.escapeShellArg cfg.swarmAdvertiseAddress}
        fi
        docker network inspect proxy >/dev/null 2>&1 \
          || docker network create --driver overlay --attachable proxy
      '';
    };

    systemd.services.cc-ci = {
      description = "cc-ci, continuous integration for Co-op Cloud recipes";
      after = [ "network-online.target" "docker.service" "cc-ci-swarm.service" ];
      wants = [ "network-online.target" ];
      requires = [ "docker.service" "cc-ci-swarm.service" ];
      wantedBy = [ "multi-user.target" ];
      restartTriggers = [ configFile ];
      path = [ cfg.package config.virtualisation.docker.package pkgs.git pkgs.gnutar pkgs.gzip pkgs.util-linux pkgs.python3 ];
      environment = {
        HOME = "/var/lib/cc-ci";
        # The live-run locks, shared with `ccci janitor` and `ccci test` run by hand on this host.
        CCCI_LIVE_DIR = "/run/ccci/live";
      };
      serviceConfig = {
        ExecStartPre = cfg.preStart;
        ExecStart = "${cfg.package}/bin/ccci serve --config /etc/cc-ci/server.toml";
        Restart = "on-failure";
        RestartSec = "5s";
        # Root, as in the Debian unit (packaging/cc-ci.service): it drives Docker, and backup and
        # restore keep the numeric owners of volume files. Pull-request code is for ccci-runner.
        StateDirectory = "cc-ci";
        StateDirectoryMode = "0750";
        RuntimeDirectory = "ccci";
        RuntimeDirectoryPreserve = "yes";
        UMask = "0027";
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        NoNewPrivileges = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        RestrictSUIDSGID = true;
        RestrictRealtime = true;
        LockPersonality = true;
        SystemCallArchitectures = "native";
        RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" "AF_NETLINK" ];
        CapabilityBoundingSet = [
          "CAP_CHOWN" "CAP_DAC_OVERRIDE" "CAP_DAC_READ_SEARCH" "CAP_FOWNER" "CAP_FSETID"
          "CAP_KILL" "CAP_SETUID" "CAP_SETGID" "CAP_SYS_ADMIN" "CAP_NET_ADMIN" "CAP_NET_BIND_SERVICE"
        ];
      };
    };
  };
}
