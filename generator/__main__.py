from generator.launch import command

command()
