package weirplugin

import (
	"fmt"
	"sort"
)

// Config is the step's `config` map, as the factory receives it. Scalar values arrive as
// their text (`true`, `42`, `orders`) and nested values as JSON text. When the host sends
// a key more than once, the last value wins.
type Config struct {
	entries map[string]string
}

// NewConfig returns a configuration with the given entries, as plugin unit tests need.
func NewConfig(entries map[string]string) Config {
	copied := make(map[string]string, len(entries))
	for key, value := range entries {
		copied[key] = value
	}
	return Config{entries: copied}
}

// Get returns the value of key and whether the key is present.
func (c Config) Get(key string) (string, bool) {
	value, ok := c.entries[key]
	return value, ok
}

// Require returns the value of key, or an error naming the missing key that a factory can
// return as it is.
func (c Config) Require(key string) (string, error) {
	value, ok := c.entries[key]
	if !ok {
		return "", fmt.Errorf("missing required config key `%s`", key)
	}
	return value, nil
}

// Keys returns the keys in lexicographic order, for example to reject unknown keys.
func (c Config) Keys() []string {
	keys := make([]string, 0, len(c.entries))
	for key := range c.entries {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

// Len returns the number of distinct keys.
func (c Config) Len() int {
	return len(c.entries)
}
