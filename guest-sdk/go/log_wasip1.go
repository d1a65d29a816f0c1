//go:build wasip1

package weirplugin

import "weirplugin/internal/bindings/imports/weir_plugin_log"

func writeLog(level Level, message string) {
	weir_plugin_log.Log(weir_plugin_log.Level(level), message)
}
