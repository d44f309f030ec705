"""The grid map: a Leaflet page (pyqtlet2's bundled Leaflet, our own JavaScript) in a dock."""
