"""The words suppliers put in header rows, and which column of ours each one means.

The column mapping (``columns``) suggests a field for every header of a file:
our own names and their aliases first (``catalog.kinds``), then the words
below, compared in a folded form (case, accents, spaces and punctuation
ignored: ``Größe`` is ``grosse``, ``Retail-Price`` is ``retail price``). A
word names a column of ours by its name in our files (``color_name``), so a
column added to a model gets only its exact name and aliases until a word is
added here.

Some words are deliberately mapped to nothing (:data:`NEVER`): an article
*number* or an EAN is not the item's name, whatever the word "article"
suggests; the user may still pick a field for such a column by hand.

Languages: English (British and American spellings), German, French,
Spanish, Italian, Dutch.
"""

from __future__ import annotations

import re
import unicodedata


def _words(table: str) -> tuple[str, ...]:
    """``"en: item, article\nde: artikel"`` -> ``("item", "article", "artikel")``."""
    words: list[str] = []
    for line in table.strip().splitlines():
        _, _, listed = line.partition(":")
        words += [word.strip() for word in listed.split(",") if word.strip()]
    return tuple(words)


#: Our column -> the words that name it in a supplier's header row, by language.
WORDS: dict[str, tuple[str, ...]] = {
    "item_name": _words(
        """
        en: item, item name, article, article name, product, product name, style, model
        de: artikel, artikelname, artikelbezeichnung, bezeichnung, produkt, produktname, modell
        fr: produit, nom du produit, nom produit, designation, nom de l article, modele
        es: articulo, producto, nombre del producto, nombre de producto, nombre del articulo, modelo
        it: articolo, prodotto, nome prodotto, nome del prodotto, nome articolo
        nl: productnaam, artikelnaam, omschrijving artikel
        """
    ),
    "description": _words(
        """
        en: description, details, product description, long description
        de: beschreibung, produktbeschreibung
        fr: description produit, descriptif
        es: descripcion, descripcion del producto
        it: descrizione, descrizione prodotto
        nl: omschrijving, beschrijving, productomschrijving
        """
    ),
    "color_name": _words(
        """
        en: color, colour, color name, colour name, shade
        de: farbe, farbname, farbton
        fr: couleur, coloris, teinte
        es: nombre del color
        it: colore, tinta
        nl: kleur, kleurnaam
        """
    ),
    "size_name": _words(
        """
        en: size, size name
        de: grosse, konfektionsgrosse
        fr: taille, pointure
        es: talla, tamano
        it: taglia, misura
        nl: maat
        """
    ),
    "sku": _words(
        """
        en: sku, stock keeping unit, item code, product code, variant code
        de: artikelcode, variantencode
        fr: code article, reference, ref
        es: codigo, codigo de articulo, referencia
        it: codice, codice articolo
        nl: productcode
        """
    ),
    "price": _words(
        """
        en: price, retail price, unit price, sales price, selling price, rrp, msrp
        de: preis, verkaufspreis, einzelpreis, stuckpreis
        fr: prix, prix unitaire, prix de vente
        es: precio, precio unitario, precio de venta, pvp
        it: prezzo, prezzo unitario, prezzo di vendita
        nl: prijs, verkoopprijs, stukprijs
        """
    ),
    "stock": _words(
        """
        en: stock, qty, quantity, on hand, in stock, inventory, stock level, available
        de: bestand, lagerbestand, menge, anzahl, verfugbar
        fr: quantite, stock disponible, inventaire
        es: existencias, cantidad, inventario
        it: giacenza, quantita, disponibilita
        nl: voorraad, aantal, hoeveelheid
        """
    ),
}
#: The ``items`` kind names an item ``name``: the same words as an item's name in a variants file.
WORDS["name"] = WORDS["item_name"]

#: Words that look like one of ours but mean something else: never suggested for any column.
NEVER: frozenset[str] = frozenset(
    _words(
        """
        en: ean, ean13, ean code, gtin, upc, barcode, bar code, article number, article no, article nr, item number,
        en: item no, product number, product id, purchase price, cost price, cost
        de: artikelnummer, artikel nr, artikelnr, produktnummer, einkaufspreis
        fr: numero d article, numero article, code barre, code ean, prix d achat
        es: numero de articulo, codigo de barras, precio de coste
        it: numero articolo, codice a barre, prezzo di acquisto
        nl: streepjescode, inkoopprijs
        """
    )
)

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def folded(header: str) -> str:
    """A header as words are compared: ``" Größe (EU)"`` -> ``"grosse eu"``.

    Case folded (``ß`` is ``ss``), accents dropped, anything but letters and
    digits read as one space, trimmed.
    """
    text = unicodedata.normalize("NFKD", str(header).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", text).strip()


#: Folded word -> our columns, for every word above (built once).
_BY_WORD: dict[str, set[str]] = {}
for _column, _named in WORDS.items():
    for _word in _named:
        _BY_WORD.setdefault(folded(_word), set()).add(_column)


def columns_named(header: str) -> set[str]:
    """Our columns a supplier's header may mean (empty for an unknown word or a :data:`NEVER` word)."""
    word = folded(header)
    if not word or word in NEVER:
        return set()
    return set(_BY_WORD.get(word, ()))
