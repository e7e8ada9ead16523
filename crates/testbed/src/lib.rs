//! Dev-only test support: local images, fixture recipes as git repositories, the stand-in proxy.
