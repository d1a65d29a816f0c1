# Pinned versions of the Go plugin toolchain, sourced by install.sh, build.sh and generate.sh.

# The Go release the SDK is built and tested with. Go 1.24 added //go:wasmexport; older
# releases cannot build a reactor module.
GO_MIN_VERSION=1.26

# wit-bindgen-cli from crates.io, whose `go` subcommand targets Go's wasip1 port.
WIT_BINDGEN_VERSION=0.63.0

WEIR_GO_TOOLCHAINS="${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}"
