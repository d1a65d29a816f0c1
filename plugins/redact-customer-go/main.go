// Command redact-customer-go is the Go port of the redact-customer Weir plugin, which
// redacts customer and card data and converts amounts to minor units.
//
// For an event whose value is a JSON object (see docs/order-events.md):
//
//   - customer.email and payment.card_expiry are replaced by the mask.
//   - payment.card_number is replaced by the mask, a hyphen and the last four digits of the
//     number, such as REDACTED-1111. A card number that is not a string of digits, spaces
//     and hyphens with at least four digits is rejected.
//   - The decimal strings total, amount and each line's unit_price are replaced by the
//     integers total_minor, amount_minor and unit_price_minor, in minor units of the
//     event's currency: JPY has no minor unit and EUR, USD and GBP have two decimal places.
//     A missing or unsupported currency, a value that is not a decimal string, or a decimal
//     with more fraction digits than the currency allows is rejected, and the reason names
//     the field.
//
// When a field is absent, it is left alone, so tombstones, valid JSON that is not an object,
// and events without these fields pass through unchanged. Otherwise the output is the
// re-serialised JSON with the same key and headers, and no topic. A value that is not valid
// JSON is rejected, because passing it on would forward data this step could not redact.
//
// Config: `mask` (optional, default REDACTED) is the replacement text. Any other key fails
// init with a message naming the key.
package main

import (
	"fmt"

	"weirplugin"
)

// DefaultMask is the replacement text when the step sets no mask.
const DefaultMask = "REDACTED"

// redactCustomer is the redaction step, configured with its mask.
type redactCustomer struct {
	mask string
}

// newRedactCustomer builds the step from its configuration.
func newRedactCustomer(config weirplugin.Config) (weirplugin.Plugin, error) {
	for _, key := range config.Keys() {
		if key != "mask" {
			return nil, fmt.Errorf("unknown config key `%s`: redact-customer accepts only `mask`", key)
		}
	}

	mask, ok := config.Get("mask")
	if !ok {
		mask = DefaultMask
	}
	return &redactCustomer{mask: mask}, nil
}

func (r *redactCustomer) Process(event weirplugin.Event) ([]weirplugin.Output, error) {
	passThrough := []weirplugin.Output{weirplugin.NewOutput(event)}
	if event.Value == nil {
		return passThrough, nil
	}

	document, err := decodeJSON(event.Value)
	if err != nil {
		return nil, weirplugin.Reject("value is not valid JSON")
	}
	fields, ok := document.(map[string]any)
	if !ok {
		return passThrough, nil
	}

	redacted, err := r.redact(fields)
	if err != nil {
		return nil, weirplugin.Reject(err.Error())
	}
	converted, err := convertAmounts(fields)
	if err != nil {
		return nil, weirplugin.Reject(err.Error())
	}
	if !redacted && !converted {
		return passThrough, nil
	}

	value, err := encodeJSON(fields)
	if err != nil {
		return nil, weirplugin.Reject(fmt.Sprintf("failed to serialise the value: %v", err))
	}
	output := weirplugin.NewOutput(event)
	output.Value = value
	return []weirplugin.Output{output}, nil
}

func init() {
	weirplugin.Export(newRedactCustomer)
}

// main never runs: the plugin is a reactor module, whose exports the host calls.
func main() {}
