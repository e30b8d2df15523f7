from generator.plugin import command

command()
