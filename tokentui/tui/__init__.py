"""The Textual dashboard: the App (:mod:`tokentui.tui.app`), its screens and widgets, its
messages and theme handling, and the stylesheet. The only package that imports Textual or Rich;
it composes the UI-free services (:class:`tokentui.services.session.Session`)."""
