package doortodoor

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"anticovid/internal/auth"
	"anticovid/internal/declaration"
	"anticovid/internal/errs"
	"anticovid/internal/geo"
	"anticovid/internal/msg"
	"anticovid/internal/sqldb"
	"anticovid/internal/vault"
)

// Health declarations filled in with a volunteer's help. Personal data
// never sits readable in a volunteer's browser: the page encrypts each
// declaration to its team's public key (ECDH P-256 with a key pair made
// for that one declaration, HKDF-SHA-256, AES-256-GCM) before it queues it
// in IndexedDB, clears the form, and cannot read the queue back. Only the
// server, holding the team's private key sealed with the data key, opens
// them, when the phone syncs; then they become declarations like any
// other (declaration.Service.Submit), unproven (nobody proved the phone),
// and their personal QR cards are printed by the commune to hand out.

// SyncGrace is how long after its link expired a team's phone may still
// send what it recorded while the link was valid. A volunteer who worked
// offline all afternoon may reach signal only the next day, or after a
// weekend in a remote hamlet: three days covers that, and stays short
// enough that a lost phone's queue is not accepted for long. Anything
// recorded after the expiry is refused.
const SyncGrace = 72 * time.Hour

// MaxDeclarations bounds the declarations of one sync request.
const MaxDeclarations = 100

// MaxSealed bounds one sealed declaration's ciphertext in base64 (a
// resident's declaration is under 2 KB of JSON).
const MaxSealed = 8 << 10

// MaxCards bounds the cards of one list or one printed file.
const MaxCards = 200

// SealedDeclaration is one declaration as a volunteer's phone queued and
// sends it: the ids and time in the clear (they carry nothing personal),
// the answers (declaration.Input as JSON) encrypted to the team's key.
type SealedDeclaration struct {
	ID          string `json:"id"` // made on the phone (a UUID), the idempotency key
	HouseholdID int64  `json:"household_id"`
	MadeAt      int64  `json:"made_at"` // Unix seconds, the phone's clock
	Key         string `json:"key"`     // the sender's one-time P-256 public key, uncompressed, base64url
	IV          string `json:"iv"`      // AES-GCM nonce (12 bytes), base64url
	Data        string `json:"data"`    // AES-GCM ciphertext and tag, base64url
}

// keyInfo is HKDF's info string for declaration keys.
const keyInfo = "anticovid door declaration v1"

// aad binds a ciphertext to its team, id, household and time: sent under
// another team's link, id, household or time, it does not open.
func aad(teamID int64, d SealedDeclaration) []byte {
	return fmt.Appendf(nil, "door-declaration/v1|%d|%s|%d|%d", teamID, d.ID, d.HouseholdID, d.MadeAt)
}

var b64 = base64.RawURLEncoding

// aeadFor derives the AES-GCM of one declaration from the ECDH secret.
func aeadFor(secret []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SealDeclaration encrypts plain (a declaration.Input as JSON) to a team's
// public key into d, as the volunteer's page does (static/door.js); the
// demo data and tests use it.
func SealDeclaration(publicKey string, teamID int64, d *SealedDeclaration, plain []byte) error {
	raw, err := b64.DecodeString(publicKey)
	if err != nil {
		return err
	}
	pub, err := ecdh.P256().NewPublicKey(raw)
	if err != nil {
		return err
	}
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	secret, err := eph.ECDH(pub)
	if err != nil {
		return err
	}
	g, err := aeadFor(secret)
	if err != nil {
		return err
	}
	iv := make([]byte, g.NonceSize())
	rand.Read(iv)
	d.Key, d.IV = b64.EncodeToString(eph.PublicKey().Bytes()), b64.EncodeToString(iv)
	d.Data = b64.EncodeToString(g.Seal(nil, iv, plain, aad(teamID, *d)))
	return nil
}

// openSealed decrypts one declaration with the team's private key.
func openSealed(priv *ecdh.PrivateKey, teamID int64, d SealedDeclaration) ([]byte, error) {
	raw, err1 := b64.DecodeString(d.Key)
	iv, err2 := b64.DecodeString(d.IV)
	data, err3 := b64.DecodeString(d.Data)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	pub, err := ecdh.P256().NewPublicKey(raw)
	if err != nil {
		return nil, err
	}
	secret, err := priv.ECDH(pub)
	if err != nil {
		return nil, err
	}
	g, err := aeadFor(secret)
	if err != nil {
		return nil, err
	}
	if len(iv) != g.NonceSize() {
		return nil, errors.New("bad nonce")
	}
	return g.Open(nil, iv, data, aad(teamID, d))
}

// teamKey returns a team's public key, making its key pair first when it
// has none (its first link): the private key is sealed with the data key.
func (s *Service) teamKey(ctx context.Context, teamID int64) (string, error) {
	var pub sql.NullString
	if err := s.DB.W.QueryRowContext(ctx, "SELECT key_public FROM door_teams WHERE id = $1", teamID).Scan(&pub); err != nil {
		return "", err
	}
	if pub.Valid && pub.String != "" {
		return pub.String, nil
	}
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	// Two officers making links at once: the first key stays.
	if _, err := s.DB.W.ExecContext(ctx, "UPDATE door_teams SET key_public = $1, key_private_enc = $2 WHERE id = $3 AND key_public IS NULL",
		b64.EncodeToString(k.PublicKey().Bytes()), s.Vault.Seal(b64.EncodeToString(k.Bytes())), teamID); err != nil {
		return "", err
	}
	err = s.DB.W.QueryRowContext(ctx, "SELECT key_public FROM door_teams WHERE id = $1", teamID).Scan(&pub)
	return pub.String, err
}

// privateKey opens a team's private key.
func (s *Service) privateKey(ctx context.Context, teamID int64) (*ecdh.PrivateKey, error) {
	var sealed []byte
	if err := s.DB.R.QueryRowContext(ctx, "SELECT key_private_enc FROM door_teams WHERE id = $1", teamID).Scan(&sealed); err != nil {
		return nil, err
	}
	if sealed == nil {
		return nil, errors.New("team has no key")
	}
	enc, err := s.Vault.Open(sealed)
	if err != nil {
		return nil, err
	}
	raw, err := b64.DecodeString(enc)
	if err != nil {
		return nil, err
	}
	return ecdh.P256().NewPrivateKey(raw)
}

// ResealName names door_teams in the data-key re-seal job (vault.Rotation).
func (s *Service) ResealName() string { return "door_teams" }

// Reseal re-seals the teams' private keys an old data key sealed.
func (s *Service) Reseal(ctx context.Context, v *vault.Vault, after int64, limit int) (int64, int, error) {
	return vault.ResealColumns(ctx, s.DB, v, []vault.Column{
		{Select: "SELECT id, key_private_enc FROM door_teams WHERE id > $1 AND key_private_enc IS NOT NULL ORDER BY id LIMIT $2",
			Update: "UPDATE door_teams SET key_private_enc = $1 WHERE id = $2 AND key_private_enc = $3"},
	}, after, limit)
}

// assisted is a declaration opened and checked, ready to submit.
type assisted struct {
	i      int // index in the batch
	d      SealedDeclaration
	hamlet int64
	in     declaration.Input
}

// declID is the declaration's client id: the phone's id in a namespace of
// its own, so no citizen's id can collide with it.
func declID(id string) string { return "door-" + id }

// declarationID is a visit's id short enough that declID of it is a
// declaration's client id (at most 64 characters).
var declarationID = regexp.MustCompile(`^[A-Za-z0-9-]{16,59}$`)

// checkDeclarations opens and validates the new declarations of a batch
// (those not stored before), without storing anything. results says what
// became of the others: duplicate, conflict (another team's id) or expired
// (made after the link expired).
func (s *Service) checkDeclarations(ctx context.Context, v Volunteer, ds []SealedDeclaration, now time.Time, results []SyncResult) ([]assisted, error) {
	f := errs.Fields{}
	var out []assisted
	var priv *ecdh.PrivateKey
	lo := v.Expires.Add(-LinkValidity - time.Hour)
	for i, d := range ds {
		k := fmt.Sprintf("declarations[%d]", i)
		results[i].ID = d.ID
		if !declarationID.MatchString(d.ID) {
			f.Add(k+".id", msg.Both("door.declaration_id"))
			continue
		}
		if len(d.Data) > MaxSealed || len(d.Key) > 100 || len(d.IV) > 40 {
			f.Add(k, msg.Both("door.decl_too_large"))
			continue
		}
		var team int64
		err := s.DB.R.QueryRowContext(ctx, "SELECT team_id FROM door_declarations WHERE id = $1", d.ID).Scan(&team)
		if err == nil {
			results[i].Status = "duplicate"
			if team != v.Team.ID {
				results[i].Status = "conflict"
			}
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		var commune string
		var hamlet int64
		err = s.DB.R.QueryRowContext(ctx, "SELECT commune_code, hamlet_id FROM door_households WHERE id = $1", d.HouseholdID).Scan(&commune, &hamlet)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (commune != v.Team.Commune || (v.Team.HamletID > 0 && hamlet != v.Team.HamletID))) {
			return nil, fmt.Errorf("household %d not the team's: %w", d.HouseholdID, errs.ErrForbidden)
		}
		if err != nil {
			return nil, err
		}
		if priv == nil {
			if priv, err = s.privateKey(ctx, v.Team.ID); err != nil {
				return nil, fmt.Errorf("team %d key: %w", v.Team.ID, err)
			}
		}
		plain, err := openSealed(priv, v.Team.ID, d)
		if err != nil {
			// Altered, truncated, or sealed for another team, id or house.
			f.Add(k, msg.Both("door.decl_sealed"))
			continue
		}
		a := assisted{i: i, d: d, hamlet: hamlet}
		if err := json.Unmarshal(plain, &a.in); err != nil {
			f.Add(k, msg.Both("door.decl_sealed"))
			continue
		}
		if t := time.Unix(d.MadeAt, 0); d.MadeAt == 0 || t.After(now) || t.Before(lo) {
			a.d.MadeAt = now.Unix()
		}
		if v.Expired && a.d.MadeAt >= v.Expires.Unix() {
			results[i].Status = "expired"
			continue
		}
		if a.in.Kind != "" && a.in.Kind != declaration.KindResident {
			f.Add(k+".kind", msg.Both("door.decl_kind"))
			continue
		}
		if a.in.CommuneCode != commune {
			f.Add(k+".commune_code", msg.Both("door.decl_commune"))
			continue
		}
		a.in.ID = declID(d.ID)
		if err := declaration.Validate(&a.in, now); err != nil {
			for field, m := range errs.FieldsOf(err) {
				f.Add(k+"."+field, m)
			}
			continue
		}
		out = append(out, a)
	}
	return out, f.Err()
}

// submitDeclarations records checked declarations through the declaration
// service (each once, by its client id) and ties each to its household.
func (s *Service) submitDeclarations(ctx context.Context, v Volunteer, as []assisted, now time.Time, results []SyncResult) error {
	d, pr := codes(v.Team.Commune)
	for _, a := range as {
		res, err := s.Declarations.SubmitAssisted(ctx, a.in)
		if err != nil {
			return err
		}
		r, err := s.DB.W.ExecContext(ctx, `INSERT INTO door_declarations (id, declaration_id, household_id, hamlet_id, team_id,
			commune_code, district_code, province_code, made_at, received_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (id) DO NOTHING`, a.d.ID, res.ID, a.d.HouseholdID, a.hamlet, v.Team.ID, v.Team.Commune, d, pr, a.d.MadeAt, now.Unix(), res.ExpiresAt.Unix())
		if err != nil {
			return err
		}
		results[a.i].Status = "created"
		if n, _ := r.RowsAffected(); n == 0 {
			results[a.i].Status = "duplicate"
		}
	}
	return nil
}

// Card is one personal QR card to print: a declaration made with help.
type Card struct {
	ID      string    `json:"id"` // the door declaration's id
	Hamlet  string    `json:"hamlet"`
	Team    string    `json:"team"`
	MadeAt  time.Time `json:"made_at"`
	Printed bool      `json:"printed"`
	declaration.Card
}

// CardFilter says which cards the cards page lists: those not yet printed
// (the default), or those printed already, for a reprint.
type CardFilter struct {
	Hamlet, Team int64
	Printed      bool
}

// Cards lists the cards of a commune or district (one hamlet's or team's
// when asked) whose QR is still valid: not yet printed, oldest first (the
// nearest to expiring), or printed already, the latest printed first; at
// most MaxCards. Expired cards are left out in the query itself, so
// however many expired unprinted cards pile up they never hide a valid
// one. The names are personal data: the read is audited.
func (s *Service) Cards(ctx context.Context, p *auth.Principal, unit string, f CardFilter) ([]Card, error) {
	u, ok := geo.Get(unit)
	if !ok || (u.Level != "commune" && u.Level != "district") || !CanView(p, unit) {
		return nil, forbidden("door cards")
	}
	now := s.now()
	// expires_at is 0 on a row an older server wrote during a rolling
	// upgrade (migration 0048): its declaration's lifetime from received_at.
	q := fmt.Sprintf("d.%s_code = $1 AND (d.expires_at > $2 OR (d.expires_at = 0 AND d.received_at > $3))", u.Level)
	args := []any{unit, now.Unix(), now.Add(-s.cardTTL()).Unix()}
	order := "d.made_at, d.id"
	if f.Printed {
		q += " AND d.printed_at IS NOT NULL"
		order = "d.printed_at DESC, d.id"
	} else {
		q += " AND d.printed_at IS NULL"
	}
	if f.Hamlet > 0 {
		args = append(args, f.Hamlet)
		q += fmt.Sprintf(" AND d.hamlet_id = $%d", len(args))
	}
	if f.Team > 0 {
		args = append(args, f.Team)
		q += fmt.Sprintf(" AND d.team_id = $%d", len(args))
	}
	cards, err := s.cards(ctx, p, q, args, order)
	if err != nil || len(cards) == 0 {
		return cards, err
	}
	if err := s.auditCards(ctx, p, auth.ActionView, "door-to-door cards", cards); err != nil {
		return nil, fmt.Errorf("door cards: %w", err)
	}
	return cards, nil
}

// cardTTL is the lifetime of a declaration's QR.
func (s *Service) cardTTL() time.Duration {
	if s.Declarations != nil && s.Declarations.TTL > 0 {
		return s.Declarations.TTL
	}
	return declaration.DefaultTTL
}

// PrintCards prints the cards of ids (the list an officer saw), new or
// printed before (a reprint): render makes the file from them, and only
// when it has succeeded are the new ones marked printed, so a failed
// render loses no card; a card lost after that (a dropped download) is
// printed again from the printed list. A card outside the caller's
// jurisdiction is forbidden; an expired one is left out. The print is
// audited as an export, before the file leaves.
func (s *Service) PrintCards(ctx context.Context, p *auth.Principal, ids []string, render func([]Card) error) error {
	const op = "door print cards"
	if len(ids) == 0 || len(ids) > MaxCards {
		return invalid(op, "ids", "door.cards_count", MaxCards)
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	cards, err := s.cards(ctx, p, "d.id IN ("+sqldb.In(1, len(ids))+")", args, "d.made_at, d.id")
	if err != nil {
		return err
	}
	if len(cards) == 0 { // every one expired (or purged) since the list was shown
		return invalid(op, "ids", "door.cards_expired")
	}
	if err := render(cards); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	purpose := "door-to-door cards print"
	for _, c := range cards {
		if c.Printed {
			purpose = "door-to-door cards reprint"
		}
	}
	if err := s.auditCards(ctx, p, auth.ActionExport, purpose, cards); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	now := s.now().Unix()
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, c := range cards {
			if _, err := tx.ExecContext(ctx, "UPDATE door_declarations SET printed_at = $1, printed_by = $2 WHERE id = $3 AND printed_at IS NULL",
				now, p.Username, c.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// auditCards writes the audit entry of reading cards' names.
func (s *Service) auditCards(ctx context.Context, p *auth.Principal, action, purpose string, cards []Card) error {
	ids := make([]string, len(cards))
	for i, c := range cards {
		ids[i] = strconv.FormatInt(c.DeclarationID, 10)
	}
	if auth.From(ctx) != p {
		ctx = auth.WithPrincipal(ctx, p) // the audit entry names the caller given
	}
	return auth.Audit(ctx, s.DB, action, "declaration", ids, purpose)
}

// cards reads the cards a condition on door_declarations d selects, in
// order, each within p's view and with its QR still valid; the caller
// audits the read.
func (s *Service) cards(ctx context.Context, p *auth.Principal, where string, args []any, order string) ([]Card, error) {
	const op = "door cards"
	rows, err := s.DB.R.QueryContext(ctx, `SELECT d.id, d.declaration_id, d.commune_code, m.name, t.name, d.made_at, d.printed_at IS NOT NULL
		FROM door_declarations d JOIN door_hamlets m ON m.id = d.hamlet_id JOIN door_teams t ON t.id = d.team_id
		WHERE `+where+fmt.Sprintf(" ORDER BY %s LIMIT %d", order, MaxCards), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var list []Card
	var declIDs []int64
	for rows.Next() {
		var c Card
		var commune string
		var made int64
		if err := rows.Scan(&c.ID, &c.DeclarationID, &commune, &c.Hamlet, &c.Team, &made, &c.Printed); err != nil {
			rows.Close()
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if !CanView(p, commune) {
			rows.Close()
			return nil, forbidden(op)
		}
		c.MadeAt = time.Unix(made, 0).UTC()
		list = append(list, c)
		declIDs = append(declIDs, c.DeclarationID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(list) == 0 {
		return []Card{}, nil
	}
	got, err := s.Declarations.Cards(ctx, declIDs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	now := s.now()
	out := make([]Card, 0, len(list))
	for _, c := range list {
		dc, ok := got[c.DeclarationID]
		if !ok || !now.Before(dc.Expires) { // purged, or its QR would not scan
			continue
		}
		c.Card = dc
		out = append(out, c)
	}
	return out, nil
}
