package web

import "anticovid/internal/msg"

// translate returns the message key in lang from the catalog.
func translate(lang, key string) string { return msg.T(lang, key) }
