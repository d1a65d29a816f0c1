module weirplugin

go 1.26
