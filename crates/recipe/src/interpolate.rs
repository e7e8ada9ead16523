//! Compose-grammar interpolation: `$V ${V} ${V:-d} ${V-d} ${V:?e} ${V?e} ${V:+r} ${V+r} $$`.
