# An example of `services.cc-ci.settings` (the keys of server.toml, docs/operators.md). The module
# shows it as the option's example; crates/ccci/tests/nix_module.rs renders it and checks it.
{
  base_domain = "ci.example.org";
  public_url = "https://ci.example.org";
  max_tests = 2;
  run_timeout_minutes = 60;
  forge = {
    kind = "forgejo";
    base_url = "https://git.example.org";
    bot_login = "cc-ci";
  };
  auth = {
    org = "example-org";
    allow = [ "alice" ];
  };
  repos = [
    { repo = "example-org/some-recipe"; }
    { repo = "example-org/other"; recipe = "other-recipe"; }
  ];
}
