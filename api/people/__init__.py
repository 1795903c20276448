"""People, houses and organisations (一标三实): archives, special populations and visits."""
