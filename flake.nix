{
  # cc-ci as a Nix flake: the package (`nix build`) and the NixOS module (`services.cc-ci`).
  # docs/operators.md ("NixOS") shows a host configuration using it.
  description = "cc-ci: continuous integration for Co-op Cloud recipes";

  # rustc >= 1.89 is needed (the newest rust-version in Cargo.lock).
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forEachSystem = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forEachSystem (pkgs: rec {
        cc-ci = pkgs.callPackage ./nix/package.nix { };
        default = cc-ci;
      });

      nixosModules = rec {
        cc-ci = { lib, pkgs, ... }: {
          imports = [ ./nix/module.nix ];
          services.cc-ci.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.cc-ci;
        };
        default = cc-ci;
      };
    };
}
