# The contents of server.toml that the NixOS module (module.nix) writes, as an attribute set: the
# operator's `settings` over the module's defaults, with the secret files the module manages.
# Builtins only, so it evaluates without nixpkgs: crates/ccci/tests/nix_module.rs renders it for
# example-settings.nix and runs `ccci config check` on the result.
{ settings, tokenFile ? null, webhookSecretFile ? null }:
let
  # Attribute sets merged recursively, `over` winning (lib.recursiveUpdate without nixpkgs).
  merge = base: over:
    base // builtins.mapAttrs
      (name: value:
        if builtins.isAttrs value && builtins.isAttrs (base.${name} or null)
        then merge base.${name} value
        else value)
      over;
  defaults = {
    data_dir = "/var/lib/cc-ci";
    listen = "127.0.0.1:8090";
  };
  secrets =
    (if tokenFile != null then { forge.token_file = tokenFile; } else { })
    // (if webhookSecretFile != null then { webhook.secret_file = webhookSecretFile; } else { });
in
merge (merge defaults settings) secrets
