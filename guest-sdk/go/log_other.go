//go:build !wasip1

package weirplugin

import (
	"fmt"
	"os"
)

func writeLog(level Level, message string) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", level, message)
}
