# The cc-ci package: `ccci` built from this repository with its Cargo.lock, wrapped so it finds the
# programs it runs (the docker CLI, git, tar, flock), with bash, zsh and fish completions.
# Needs a nixpkgs whose rustc is at least 1.89 (the newest rust-version in Cargo.lock).
{ lib
, rustPlatform
, installShellFiles
, makeWrapper
, docker-client
, git
, gnutar
, gzip
, util-linux
, coreutils
}:

rustPlatform.buildRustPackage {
  pname = "cc-ci";
  version = (builtins.fromTOML (builtins.readFile ../Cargo.toml)).workspace.package.version;

  src = lib.cleanSourceWith {
    src = ../.;
    filter = path: type: !(type == "directory" && builtins.elem (baseNameOf path) [ "target" ".git" ]);
  };
  cargoLock.lockFile = ../Cargo.lock;
  cargoBuildFlags = [ "-p" "ccci" ];

  # The test suite needs a Docker swarm, git repositories and local images: it runs in the
  # project's CI (scripts/test), not in the Nix build sandbox.
  doCheck = false;

  nativeBuildInputs = [ installShellFiles makeWrapper ];

  postInstall = ''
    installShellCompletion --cmd ccci \
      --bash <($out/bin/ccci completions bash) \
      --zsh <($out/bin/ccci completions zsh) \
      --fish <($out/bin/ccci completions fish)
    wrapProgram $out/bin/ccci \
      --prefix PATH : ${lib.makeBinPath [ docker-client git gnutar gzip util-linux coreutils ]}
  '';

  meta = {
    description = "Continuous integration for Co-op Cloud recipes";
    license = lib.licenses.agpl3Plus;
    mainProgram = "ccci";
    platforms = lib.platforms.linux;
  };
}
