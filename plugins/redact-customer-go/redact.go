package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// redact masks the customer email and the card fields, and reports whether any field
// changed.
func (r *redactCustomer) redact(fields map[string]any) (bool, error) {
	changed := false

	if customer, ok := fields["customer"].(map[string]any); ok {
		if _, ok := customer["email"]; ok {
			customer["email"] = r.mask
			changed = true
		}
	}

	payment, ok := fields["payment"].(map[string]any)
	if !ok {
		return changed, nil
	}
	if cardNumber, ok := payment["card_number"]; ok {
		lastFour, err := lastFourDigits(cardNumber)
		if err != nil {
			return false, err
		}
		payment["card_number"] = r.mask + "-" + lastFour
		changed = true
	}
	if _, ok := payment["card_expiry"]; ok {
		payment["card_expiry"] = r.mask
		changed = true
	}

	return changed, nil
}

var errInvalidCardNumber = errors.New("`payment.card_number` is not a card number")

func lastFourDigits(cardNumber any) (string, error) {
	text, ok := cardNumber.(string)
	if !ok {
		return "", errInvalidCardNumber
	}

	digits := make([]byte, 0, len(text))
	for index := 0; index < len(text); index++ {
		character := text[index]
		switch {
		case isASCIIDigit(character):
			digits = append(digits, character)
		case character == ' ' || character == '-':
		default:
			// Any other byte, including each byte of a non-ASCII character, is invalid.
			return "", errInvalidCardNumber
		}
	}
	if len(digits) < 4 {
		return "", errInvalidCardNumber
	}
	return string(digits[len(digits)-4:]), nil
}

// convertAmounts replaces total, amount and each line's unit_price with their minor-unit
// integers, and reports whether any field changed. On error, fields may be partly
// converted.
func convertAmounts(fields map[string]any) (bool, error) {
	if !hasAmounts(fields) {
		return false, nil
	}
	currency, hasCurrency := fields["currency"]
	exponent, err := currencyExponent(currency, hasCurrency)
	if err != nil {
		return false, err
	}

	for _, name := range []string{"total", "amount"} {
		decimal, ok := fields[name]
		if !ok {
			continue
		}
		delete(fields, name)
		minor, err := toMinorUnits(decimal, exponent)
		if err != nil {
			return false, fmt.Errorf("`%s` %w", name, err)
		}
		fields[name+"_minor"] = minor
	}

	if lines, ok := fields["lines"].([]any); ok {
		for index, line := range lines {
			line, ok := line.(map[string]any)
			if !ok {
				continue
			}
			decimal, ok := line["unit_price"]
			if !ok {
				continue
			}
			delete(line, "unit_price")
			minor, err := toMinorUnits(decimal, exponent)
			if err != nil {
				return false, fmt.Errorf("`lines[%d].unit_price` %w", index, err)
			}
			line["unit_price_minor"] = minor
		}
	}

	return true, nil
}

func hasAmounts(fields map[string]any) bool {
	if _, ok := fields["total"]; ok {
		return true
	}
	if _, ok := fields["amount"]; ok {
		return true
	}
	lines, ok := fields["lines"].([]any)
	if !ok {
		return false
	}
	for _, line := range lines {
		if line, ok := line.(map[string]any); ok {
			if _, ok := line["unit_price"]; ok {
				return true
			}
		}
	}
	return false
}

// currencyExponent returns the number of decimal places of the currency's minor unit
// (ISO 4217).
func currencyExponent(currency any, present bool) (int, error) {
	if !present {
		return 0, errors.New("`currency` is missing, so amounts cannot be converted")
	}
	code, ok := currency.(string)
	if !ok {
		return 0, errors.New("`currency` is not a string")
	}
	switch code {
	case "EUR", "USD", "GBP":
		return 2, nil
	case "JPY":
		return 0, nil
	default:
		return 0, fmt.Errorf("currency `%s` is not supported; expected EUR, USD, GBP or JPY", code)
	}
}

// toMinorUnits converts a decimal string such as "129.90" to an integer count of minor
// units. The error completes a sentence that starts with the field name.
func toMinorUnits(decimal any, exponent int) (int64, error) {
	errNotDecimal := errors.New("is not a decimal string")

	text, ok := decimal.(string)
	if !ok {
		return 0, errNotDecimal
	}
	unsigned, negative := strings.CutPrefix(text, "-")
	whole, fraction, hasPoint := strings.Cut(unsigned, ".")

	if whole == "" || !allASCIIDigits(whole) || !allASCIIDigits(fraction) || (hasPoint && fraction == "") {
		return 0, errNotDecimal
	}
	if len(fraction) > exponent {
		return 0, fmt.Errorf("has %d fraction digits but the currency allows %d", len(fraction), exponent)
	}

	padded := whole + fraction + strings.Repeat("0", exponent-len(fraction))
	magnitude, err := strconv.ParseInt(padded, 10, 64)
	if err != nil {
		return 0, errors.New("is out of range for minor units")
	}
	if negative {
		return -magnitude, nil
	}
	return magnitude, nil
}

func isASCIIDigit(character byte) bool {
	return character >= '0' && character <= '9'
}

func allASCIIDigits(text string) bool {
	for index := 0; index < len(text); index++ {
		if !isASCIIDigit(text[index]) {
			return false
		}
	}
	return true
}
