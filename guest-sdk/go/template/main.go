// Command {{name}} is a Weir plugin that passes every event on unchanged. Replace Process
// with your logic; see the weirplugin package documentation for outputs, failures and
// logging.
package main

import "weirplugin"

type passthrough struct {
	config weirplugin.Config
}

func (p *passthrough) Process(event weirplugin.Event) ([]weirplugin.Output, error) {
	return []weirplugin.Output{weirplugin.NewOutput(event)}, nil
}

func init() {
	weirplugin.Export(func(config weirplugin.Config) (weirplugin.Plugin, error) {
		return &passthrough{config: config}, nil
	})
}

// main never runs: the plugin is a reactor module, whose exports the host calls.
func main() {}
